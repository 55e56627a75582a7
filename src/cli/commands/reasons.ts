import type { HistoryEntry } from '@wagate/protocol';
import { call, type ApiTarget } from '../api.js';

/**
 * Finds why a channel reached a status: `channel.post` carries the status, the history its
 * reason. The newest matching entry after the last one shown is the one this event reports.
 */
export class ReasonLookup {
  private readonly lastAt = new Map<string, number>();

  constructor(private readonly target: ApiTarget) {}

  /** `reason: detail` of the channel's latest change to `status`, or '' when none is recorded. */
  async reasonFor(channelId: string, status: string): Promise<string> {
    const since = this.lastAt.get(channelId) ?? Date.now() - 60_000;
    const { history } = await call<{ history: HistoryEntry[] }>(this.target, 'GET', `/partner/channels/${channelId}/history?since=${since}`);
    // A note (from === to: remediation, needs_attention, flapping) is not why the status changed;
    // it reaches the terminal as its alert.
    const entry = history.filter((h) => h.to === status && h.from !== h.to && h.at >= since && h.at !== this.lastAt.get(channelId)).at(-1);
    if (!entry) return '';
    this.lastAt.set(channelId, entry.at);
    return entry.detail ? `${entry.reason}: ${entry.detail}` : entry.reason;
  }
}

/** A time as people read it in a terminal: `2026-12-01 10:42:07Z`, UTC (ISO with --json). */
export function readableTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
