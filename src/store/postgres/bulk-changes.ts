import type pg from 'pg';
import { UnknownChannelError } from '../errors.js';
import { deliveryQueueKey, pendingDelivery } from '../rows.js';
import type { ChannelChange, DueDelivery } from '../types.js';

/**
 * Changes of many channels in a handful of statements (group commit): one lock of every channel,
 * one UPDATE of their snapshots, one INSERT each for history, events and deliveries, whatever
 * the number of changes. Round trips, not rows, are what a PostgreSQL commit costs here.
 * Only "status" changes qualify (`isBulkable`); one with messages, chats, idempotency or a
 * credential wipe goes alone (commitOne), which writes those rows and then the rest with
 * `writeBulk` as a batch of one.
 */
export function isBulkable(change: ChannelChange): boolean {
  return !change.wipeCredentials && !change.messages?.length && !change.chats?.length && !change.idempotency;
}

/**
 * Locks every channel of a batch for the rest of the transaction, in id order (so two batches
 * never deadlock), or throws UnknownChannelError when one is gone.
 */
export async function lockChannels(c: pg.PoolClient, ids: string[]): Promise<void> {
  const distinct = [...new Set(ids)];
  const { rows: locked } = await c.query<{ id: string }>(
    'SELECT id FROM channels WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE',
    [distinct],
  );
  if (locked.length === distinct.length) return;
  const found = new Set(locked.map((r) => r.id));
  throw new UnknownChannelError(distinct.find((id) => !found.has(id)) ?? distinct[0]!);
}

/**
 * Writes `changes` (at most one per channel, each bulkable, their channels locked) on the
 * caller's transaction; answers the deliveries written, for the dispatcher's hand-over.
 */
export async function writeBulk(c: pg.PoolClient, changes: ChannelChange[]): Promise<DueDelivery[]> {
  await writeSnapshots(c, changes);
  await writeHistory(c, changes);
  return writeEvents(c, changes);
}

async function writeSnapshots(c: pg.PoolClient, changes: ChannelChange[]): Promise<void> {
  const withId = changes.filter((ch) => ch.changeId);
  if (withId.length > 0) {
    await c.query(
      'UPDATE channels SET last_change_id = v.change_id FROM unnest($1::text[], $2::text[]) AS v(id, change_id) WHERE channels.id = v.id',
      [withId.map((ch) => ch.channelId), withId.map((ch) => ch.changeId)],
    );
  }
  const snaps = changes.filter((ch) => ch.snapshot);
  if (snaps.length === 0) return;
  const s = snaps.map((ch) => ch.snapshot!);
  await c.query(
    `UPDATE channels SET status = v.status, status_reason = v.reason, status_detail = v.detail, status_since = v.since,
       start_at = v.start_at, linked_user = v.linked_user::jsonb
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
       AS v(id, status, reason, detail, since, start_at, linked_user)
     WHERE channels.id = v.id`,
    [
      snaps.map((ch) => ch.channelId),
      s.map((x) => x.status),
      s.map((x) => x.statusReason),
      s.map((x) => x.statusDetail),
      s.map((x) => x.statusSince),
      s.map((x) => x.startAt),
      s.map((x) => (x.user === null ? null : JSON.stringify(x.user))),
    ],
  );
}

async function writeHistory(c: pg.PoolClient, changes: ChannelChange[]): Promise<void> {
  const rows = changes.flatMap((ch) => (ch.history ?? []).map((h) => ({ channelId: ch.channelId, h, fence: ch.fence })));
  if (rows.length === 0) return;
  await c.query(
    `INSERT INTO status_history (channel_id, at, from_status, to_status, reason, detail, node_id, epoch)
     SELECT channel_id, at, from_status, to_status, reason, detail, node_id, epoch
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) WITH ORDINALITY
       AS t(channel_id, at, from_status, to_status, reason, detail, node_id, epoch, n)
     ORDER BY t.n`,
    [
      rows.map((r) => r.channelId),
      rows.map((r) => r.h.at),
      rows.map((r) => r.h.from),
      rows.map((r) => r.h.to),
      rows.map((r) => r.h.reason),
      rows.map((r) => r.h.detail ?? null),
      rows.map((r) => r.fence?.nodeId ?? null),
      rows.map((r) => r.fence?.epoch ?? null),
    ],
  );
}

/**
 * Events, then their deliveries, one INSERT each. Each INSERT draws its serials in the order of
 * its ORDER BY, so sorting what it returns (RETURNING's own order is not promised) gives them back
 * in the changes' order: each channel's events and each queue's deliveries keep that order.
 */
async function writeEvents(c: pg.PoolClient, changes: ChannelChange[]): Promise<DueDelivery[]> {
  const events = changes.flatMap((ch) => (ch.events ?? []).map((e) => ({ channelId: ch.channelId, e, fence: ch.fence, body: JSON.stringify(e.body) })));
  if (events.length === 0) return [];
  const { rows: written } = await c.query<{ seq: number }>(
    `INSERT INTO events (channel_id, name, body, created_at, node_id, epoch)
     SELECT channel_id, name, body::json, created_at, node_id, epoch
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) WITH ORDINALITY
       AS t(channel_id, name, body, created_at, node_id, epoch, n)
     ORDER BY t.n
     RETURNING seq`,
    [
      events.map((x) => x.channelId),
      events.map((x) => x.e.name),
      events.map((x) => x.body),
      events.map((x) => x.e.createdAt),
      events.map((x) => x.fence?.nodeId ?? null),
      events.map((x) => x.fence?.epoch ?? null),
    ],
  );
  const seqs = ascending(written.map((r) => r.seq));
  const deliveries = events.flatMap((x, i) => (x.e.targets ?? []).map((t) => ({ seq: seqs[i]!, channelId: x.channelId, e: x.e, t, body: x.body, queueKey: deliveryQueueKey(x.channelId, t) })));
  if (deliveries.length === 0) return [];
  const { rows: inserted } = await c.query<{ id: number }>(
    `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts,
       next_attempt_at, created_at, updated_at)
     SELECT event_seq, channel_id, event_name, target::jsonb, queue_key, ordered, 'pending', 0, at, at, at
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[]) WITH ORDINALITY
       AS t(event_seq, channel_id, event_name, target, queue_key, ordered, at, n)
     ORDER BY t.n
     RETURNING id`,
    [
      deliveries.map((d) => d.seq),
      deliveries.map((d) => d.channelId),
      deliveries.map((d) => d.e.name),
      deliveries.map((d) => JSON.stringify(d.t)),
      deliveries.map((d) => d.queueKey),
      deliveries.map((d) => d.t.ordered),
      deliveries.map((d) => d.e.createdAt),
    ],
  );
  const ids = ascending(inserted.map((r) => r.id));
  return deliveries.map((d, i) =>
    pendingDelivery({ id: ids[i]!, eventSeq: d.seq, channelId: d.channelId, eventName: d.e.name, target: d.t, queueKey: d.queueKey, createdAt: d.e.createdAt, body: d.body }),
  );
}

const ascending = (values: number[]): number[] => values.map(Number).sort((a, b) => a - b);
