import type pg from 'pg';
import type { Fence } from '../cluster.js';
import { UnknownChannelError } from '../errors.js';
import { deliveryQueueKey, pendingDelivery } from '../rows.js';
import type { ChannelChange, ChannelRuntimeSnapshot, DeliveryTarget, DueDelivery, OutboundEvent } from '../types.js';
import { fencedOnly, fenceRows, heldLeasesSql, refuseLostLeases, type FenceRow } from './cluster.js';

/**
 * Changes of many channels in ONE statement (group commit): the lock of every channel, the check
 * of every lease, the snapshots, history, events and deliveries, whatever the number of changes.
 * Round trips, not rows, are what a PostgreSQL commit costs here: a batch was nine (BEGIN, lock,
 * lease check, two UPDATEs, three INSERTs, COMMIT), each a socket write and a wake-up of the
 * backend. Only "status" changes qualify (`isBulkable`); one with messages, chats, idempotency or
 * a credential wipe goes alone (commitOne), which writes the rest with `writeChanges` in its
 * transaction first, then those rows.
 */
export function isBulkable(change: ChannelChange): boolean {
  return !change.wipeCredentials && !change.messages?.length && !change.chats?.length && !change.idempotency;
}

/**
 * Each part of the statement reads its rows from a JSON parameter ($2-$7): one string built
 * natively (JSON.stringify), where text arrays cost pg an escaping pass over every event body.
 * The bodies come as a JSON array of their own ($6, beside $5's rows by position): an array's
 * elements keep their text exactly, \u0000 included, which a record's json field refuses.
 *
 * The lock comes first, in id order (so two batches never deadlock), then the leases; every
 * write waits on `allowed` (a one-time filter, so it runs after both), and when a channel is gone
 * or a lease lost, none writes a row. Each INSERT draws its serials in the order of its ORDER BY:
 * the k-th seq drawn is the k-th event's, which is how each delivery finds its event's seq, and
 * each channel's events and each queue's deliveries keep the changes' order. Rows of `channels`
 * and `channel_leases` are found by the ids ($1), by index: joined to a JSON set alone (taken
 * for 100 rows), each commit would scan both tables. The ids are read through a subquery
 * (`IDS`) so that the planner prices every call alike and keeps one generic plan per connection:
 * with the array in sight, each call's own plan looked cheaper, and planning anew took a third
 * of the backend's time per commit.
 */
const IDS = '(SELECT $1::text[])::text[]';
const WRITE_CHANGES = `
  WITH locked AS MATERIALIZED (
    SELECT id FROM channels WHERE id = ANY(${IDS}) ORDER BY id FOR NO KEY UPDATE),
  held AS MATERIALIZED (${heldLeasesSql(IDS, '$2::json')}),
  allowed AS MATERIALIZED (
    SELECT (SELECT count(*) FROM locked) = cardinality($1::text[]) AND (SELECT count(*) FROM held) = json_array_length($2::json) AS ok),
  snapshots AS (
    UPDATE channels SET last_change_id = COALESCE(s.change_id, channels.last_change_id),
      status = CASE WHEN s.snapshot THEN s.status ELSE channels.status END,
      status_reason = CASE WHEN s.snapshot THEN s.reason ELSE channels.status_reason END,
      status_detail = CASE WHEN s.snapshot THEN s.detail ELSE channels.status_detail END,
      status_since = CASE WHEN s.snapshot THEN s.since ELSE channels.status_since END,
      start_at = CASE WHEN s.snapshot THEN s.start_at ELSE channels.start_at END,
      linked_user = CASE WHEN s.snapshot THEN s.linked_user ELSE channels.linked_user END
    FROM json_to_recordset($3::json)
      AS s(id text, change_id text, snapshot boolean, status text, reason text, detail text, since bigint, start_at bigint, linked_user jsonb)
    WHERE channels.id = ANY(${IDS}) AND channels.id = s.id AND (SELECT ok FROM allowed)),
  history AS (
    INSERT INTO status_history (channel_id, at, from_status, to_status, reason, detail, node_id, epoch)
    SELECT channel_id, at, from_status, to_status, reason, detail, node_id, epoch
    FROM ROWS FROM (json_to_recordset($4::json)
      AS (channel_id text, at bigint, from_status text, to_status text, reason text, detail text, node_id text, epoch bigint))
      WITH ORDINALITY AS t(channel_id, at, from_status, to_status, reason, detail, node_id, epoch, n)
    WHERE (SELECT ok FROM allowed)
    ORDER BY t.n),
  events AS (
    INSERT INTO events (channel_id, name, body, created_at, node_id, epoch)
    SELECT channel_id, name, body, created_at, node_id, epoch
    FROM ROWS FROM (json_to_recordset($5::json) AS (channel_id text, name text, created_at bigint, node_id text, epoch bigint),
      json_array_elements($6::json))
      WITH ORDINALITY AS t(channel_id, name, created_at, node_id, epoch, body, n)
    WHERE (SELECT ok FROM allowed)
    ORDER BY t.n
    RETURNING seq),
  event_seqs AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM events),
  deliveries AS (
    INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts,
      next_attempt_at, created_at, updated_at)
    SELECT e.seq, t.channel_id, t.event_name, t.target, t.queue_key, t.ordered, 'pending', 0, t.at, t.at, t.at
    FROM ROWS FROM (json_to_recordset($7::json)
      AS (event bigint, channel_id text, event_name text, target jsonb, queue_key text, ordered boolean, at bigint))
      WITH ORDINALITY AS t(event, channel_id, event_name, target, queue_key, ordered, at, n)
    JOIN event_seqs e ON e.n = t.event
    ORDER BY t.n
    RETURNING id, event_seq)
  SELECT (SELECT json_agg(id) FROM locked) AS locked,
    (SELECT json_agg(held) FROM held) AS held,
    (SELECT json_agg(json_build_array(id, event_seq) ORDER BY id) FROM deliveries) AS deliveries`;

interface WriteResult {
  locked: string[] | null;
  held: FenceRow[] | null;
  /** [id, event_seq] of each delivery written, in id order. */
  deliveries: Array<[number, number]> | null;
}

/**
 * Writes `changes` (any number per channel) in one statement, on `db`'s transaction or as one of
 * its own; answers the deliveries written, for the dispatcher's hand-over. Throws
 * UnknownChannelError when a channel is gone and LeaseLostError when a lease moved on, having
 * written nothing.
 */
export async function writeChanges(db: pg.Pool | pg.PoolClient, changes: ChannelChange[]): Promise<DueDelivery[]> {
  const ids = [...new Set(changes.map((ch) => ch.channelId))];
  const fenced = fencedOnly(changes);
  const events = eventsOf(changes);
  const deliveries = deliveriesOf(events);
  // Named, so each connection parses the statement once: parsing it for every commit doubled a
  // commit's time (4 ms against 2 on this machine).
  const { rows } = await db.query<WriteResult>({
    name: 'wagate.write-changes',
    text: WRITE_CHANGES,
    values: [ids, JSON.stringify(fenceRows(fenced)), JSON.stringify(channelRows(changes)), JSON.stringify(historyRows(changes)), ...eventValues(events), JSON.stringify(deliveryRows(deliveries))],
  });
  const result = rows[0]!;
  refuseMissing(ids, result.locked ?? []);
  refuseLostLeases(fenced, result.held ?? []);
  const written = result.deliveries ?? [];
  return deliveries.map((d, i) => {
    const [id, eventSeq] = written[i]!;
    return pendingDelivery({ id, eventSeq, channelId: d.channelId, eventName: d.e.name, target: d.t, queueKey: d.queueKey, createdAt: d.e.createdAt, body: d.body });
  });
}

function refuseMissing(ids: string[], locked: string[]): void {
  if (locked.length === ids.length) return;
  const found = new Set(locked);
  throw new UnknownChannelError(ids.find((id) => !found.has(id)) ?? ids[0]!);
}

const fenceColumns = (fence: Fence | undefined): { node_id: string | null; epoch: number | null } => ({ node_id: fence?.nodeId ?? null, epoch: fence?.epoch ?? null });

/**
 * One row per channel: one statement cannot update a row twice, so a channel's changes leave
 * what writing them one after another would: the last snapshot, the last change id.
 */
function channelRows(changes: ChannelChange[]): object[] {
  const last = new Map<string, { changeId?: string; snapshot?: ChannelRuntimeSnapshot }>();
  for (const ch of changes) {
    const row = last.get(ch.channelId) ?? {};
    if (ch.changeId) row.changeId = ch.changeId;
    if (ch.snapshot) row.snapshot = ch.snapshot;
    last.set(ch.channelId, row);
  }
  return [...last].flatMap(([id, { changeId, snapshot: s }]) => {
    if (!changeId && !s) return [];
    const snapshot = s ? { status: s.status, reason: s.statusReason, detail: s.statusDetail, since: s.statusSince, start_at: s.startAt, linked_user: s.user } : {};
    return [{ id, change_id: changeId ?? null, snapshot: s !== undefined, ...snapshot }];
  });
}

function historyRows(changes: ChannelChange[]): object[] {
  return changes.flatMap((ch) =>
    (ch.history ?? []).map((h) => ({ channel_id: ch.channelId, at: h.at, from_status: h.from, to_status: h.to, reason: h.reason, detail: h.detail ?? null, ...fenceColumns(ch.fence) })),
  );
}

/** An event to write, with its body's text (stored, and handed over with each delivery). */
interface EventRow {
  channelId: string;
  e: OutboundEvent;
  fence: Fence | undefined;
  body: string;
}

/** A delivery to write; `event` is its event's place among the statement's events (from 1). */
interface DeliveryRow {
  event: number;
  channelId: string;
  e: OutboundEvent;
  t: DeliveryTarget;
  body: string;
  queueKey: string;
}

function eventsOf(changes: ChannelChange[]): EventRow[] {
  return changes.flatMap((ch) => (ch.events ?? []).map((e) => ({ channelId: ch.channelId, e, fence: ch.fence, body: JSON.stringify(e.body) })));
}

/** $5, the events' rows, and $6, their bodies: a JSON array of the bodies' own texts. */
function eventValues(events: EventRow[]): [string, string] {
  const rows = events.map((x) => ({ channel_id: x.channelId, name: x.e.name, created_at: x.e.createdAt, ...fenceColumns(x.fence) }));
  return [JSON.stringify(rows), `[${events.map((x) => x.body).join(',')}]`];
}

function deliveriesOf(events: EventRow[]): DeliveryRow[] {
  return events.flatMap((x, i) => (x.e.targets ?? []).map((t) => ({ event: i + 1, channelId: x.channelId, e: x.e, t, body: x.body, queueKey: deliveryQueueKey(x.channelId, t) })));
}

function deliveryRows(deliveries: DeliveryRow[]): object[] {
  return deliveries.map((d) => ({ event: d.event, channel_id: d.channelId, event_name: d.e.name, target: d.t, queue_key: d.queueKey, ordered: d.t.ordered, at: d.e.createdAt }));
}
