import { expect } from 'vitest';
import { until } from '../support/http.js';
import type { Receiver } from '../support/receiver.js';
import type { ClusterDb } from './cluster.js';

interface Written {
  channel_id: string;
  order: number;
  at: number;
  node_id: string | null;
  epoch: number | null;
}

/**
 * At no moment did two nodes run one channel: every row names its node and epoch; per channel,
 * epochs only grow in write order, each epoch belongs to one node, and the time span of an
 * epoch's writes ends before the next epoch's begins. Answers how many epochs were seen.
 */
function expectEpochsDisjoint(rows: Written[], what: string): number {
  expect(rows.filter((r) => r.node_id === null || r.epoch === null), `${what} without node or epoch`).toEqual([]);
  const byChannel = new Map<string, Written[]>();
  for (const r of rows) byChannel.set(r.channel_id, [...(byChannel.get(r.channel_id) ?? []), r]);
  let epochs = 0;
  for (const [channel, list] of byChannel) {
    list.sort((a, b) => a.order - b.order);
    const spans = new Map<number, { node: string; first: number; last: number }>();
    let previous = 0;
    for (const r of list) {
      expect(r.epoch!, `${what} of ${channel}: epoch went back`).toBeGreaterThanOrEqual(previous);
      previous = r.epoch!;
      const span = spans.get(r.epoch!);
      if (!span) spans.set(r.epoch!, { node: r.node_id!, first: r.at, last: r.at });
      else {
        expect(r.node_id, `${what} of ${channel}: two nodes wrote epoch ${r.epoch}`).toBe(span.node);
        span.last = Math.max(span.last, r.at);
        span.first = Math.min(span.first, r.at);
      }
    }
    const ordered = [...spans.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ordered.length; i++) {
      const [e0, s0] = ordered[i - 1]!;
      const [e1, s1] = ordered[i]!;
      expect(s0.last, `${what} of ${channel}: epoch ${e0} (${s0.node}) wrote after epoch ${e1} (${s1.node}) began`).toBeLessThanOrEqual(s1.first);
    }
    epochs += ordered.length;
  }
  return epochs;
}

/** The ownership invariant over status history and events. */
export async function expectOwnershipNeverOverlapped(db: ClusterDb): Promise<{ channels: number; epochs: number }> {
  const history = await db.sql<Written>('SELECT channel_id, id::bigint::float8 AS order, at::float8 AS at, node_id, epoch::int FROM status_history');
  const events = await db.sql<Written>('SELECT channel_id, seq::float8 AS order, created_at::float8 AS at, node_id, epoch::int FROM events');
  const epochs = expectEpochsDisjoint(history, 'history');
  expectEpochsDisjoint(events, 'events');
  return { channels: new Set(history.map((h) => h.channel_id)).size, epochs };
}

/** Every delivery delivered: none pending, none failed. */
export async function expectAllDelivered(db: ClusterDb): Promise<void> {
  await until(
    async () => (await db.sql<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE status <> 'delivered'"))[0]!.n === 0,
    'every delivery delivered',
    120_000,
    250,
  );
}

/** No event lost: per channel, the status changes in the history are exactly the channel.post statuses received. */
export async function expectHistoryEqualsReceived(db: ClusterDb, receiver: Receiver): Promise<number> {
  const rows = await db.sql<{ channel_id: string; to_status: string }>('SELECT channel_id, to_status FROM status_history WHERE from_status <> to_status ORDER BY channel_id, id');
  const history = new Map<string, string[]>();
  for (const r of rows) history.set(r.channel_id, [...(history.get(r.channel_id) ?? []), r.to_status]);
  const first = new Map<string, Record<string, unknown>>();
  for (const r of receiver.received) {
    const id = String(r.headers['webhook-id']);
    if (!first.has(id)) first.set(id, r.json);
  }
  const seqOf = (id: string): number => Number(id.replace('msg_', ''));
  const received = new Map<string, string[]>();
  for (const [, json] of [...first.entries()].sort((a, b) => seqOf(a[0]) - seqOf(b[0]))) {
    const channel = String(json.channel_id);
    received.set(channel, [...(received.get(channel) ?? []), (json.health as { status: { text: string } }).status.text]);
  }
  expect(Object.fromEntries(received)).toEqual(Object.fromEntries(history));
  return rows.length;
}
