import { STATUS_TEXTS, type FleetCounts, type FleetQuery, type StatusText } from '@wagate/protocol';
import type { ChannelRuntime } from './runtime.js';

/** What the fleet view needs to know of a channel beyond its runtime. */
export interface FleetSignals {
  /** Whether a webhook of this channel is failing (an undelivered webhook_failing alert). */
  webhookFailing(channelId: string): boolean;
}

/** A page of the fleet: the matching channels, how many matched, and the counts over all channels. */
export interface FleetPage {
  channels: ChannelRuntime[];
  total: number;
  counts: FleetCounts;
}

const STATUS_ORDER = new Map<StatusText, number>(STATUS_TEXTS.map((s, i) => [s, i]));

/**
 * Filters, searches, sorts and pages every channel in memory: 10,000 channels take a few
 * milliseconds, so the dashboard never has to load them all. Search matches the id, the name
 * or the linked account's number, case-insensitively.
 */
export function queryFleet(all: Iterable<ChannelRuntime>, q: FleetQuery, signals: FleetSignals): FleetPage {
  const counts: FleetCounts = { all: 0, flapping: 0, webhook_failing: 0, by_status: Object.fromEntries(STATUS_TEXTS.map((s) => [s, 0])) as FleetCounts['by_status'] };
  const needle = q.search?.trim().toLowerCase() ?? '';
  const matched: ChannelRuntime[] = [];
  for (const r of all) {
    const failing = signals.webhookFailing(r.id);
    counts.all++;
    counts.by_status[r.state.status]++;
    if (r.state.flapping) counts.flapping++;
    if (failing) counts.webhook_failing++;
    if (q.status && r.state.status !== q.status) continue;
    if (q.flag === 'flapping' && !r.state.flapping) continue;
    if (q.flag === 'webhook_failing' && !failing) continue;
    if (needle && !matches(r, needle)) continue;
    matched.push(r);
  }
  const dir = q.order === 'desc' ? -1 : 1;
  const key = q.sort ?? 'created';
  // Channels are held in creation order already: the default order needs no sort.
  if (key === 'created') {
    if (dir < 0) matched.reverse();
  } else {
    matched.sort((a, b) => dir * compare(a, b, key) || a.id.localeCompare(b.id));
  }
  const offset = q.offset ?? 0;
  return { channels: matched.slice(offset, offset + (q.count ?? 100)), total: matched.length, counts };
}

function matches(r: ChannelRuntime, needle: string): boolean {
  return r.id.toLowerCase().includes(needle) || r.record.name.toLowerCase().includes(needle) || (r.state.user?.id ?? '').includes(needle);
}

function compare(a: ChannelRuntime, b: ChannelRuntime, key: NonNullable<FleetQuery['sort']>): number {
  switch (key) {
    case 'name':
      return a.record.name.localeCompare(b.record.name);
    case 'id':
      return a.id.localeCompare(b.id);
    case 'status':
      return (STATUS_ORDER.get(a.state.status) ?? 0) - (STATUS_ORDER.get(b.state.status) ?? 0);
    case 'created':
      return a.record.createdAt - b.record.createdAt;
  }
}
