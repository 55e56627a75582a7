import type Database from 'better-sqlite3';
import {
  attemptsSql,
  attemptFromRow,
  cappedTotal,
  deliveryColumns,
  deliveryFromRow,
  deliveryQueueKey,
  deliveryListSql,
  limitOffset,
  pendingDelivery,
  UNORDERED_PER_QUEUE,
  type AttemptRow,
  type DeliveryRow,
} from '../rows.js';
import type {
  AttemptResult,
  CancelFilter,
  ClaimHolder,
  Delivery,
  DeliveryAttemptRecord,
  DeliveryFilter,
  DeliveryPage,
  DeliveryTarget,
  DueDelivery,
  OutboundEvent,
  Page,
  StoredEvent,
} from '../types.js';

/** The store's prepared-statement cache (`pluck`: answer the first column's value). */
export type Prepare = (sql: string, pluck?: boolean) => Database.Statement;

const parseJson = (value: unknown): unknown => JSON.parse(value as string);

const COLUMNS = deliveryColumns('d');

/** A delivery with its event's body joined in, exactly as stored. */
const WITH_BODY = `SELECT ${COLUMNS}, e.body AS body FROM deliveries d JOIN events e ON e.seq = d.event_seq`;

interface EventRow {
  seq: number;
  channel_id: string;
  name: string;
  body: string;
  created_at: number;
}

type DueRow = DeliveryRow & { body: string };

const PENDING_BY_QUEUE = 'deliveries INDEXED BY deliveries_queue_pending';

const dueFromRow = (row: DueRow): DueDelivery => Object.assign(deliveryFromRow(row, parseJson), { body: row.body });

/**
 * The distinct queues with a pending delivery, walked one index seek per queue, so a long
 * backlog behind a head waiting for its retry is never scanned. INDEXED BY: without statistics
 * SQLite would rather take (status, created_at) and sort every pending row.
 */
const QUEUES_CTE = `
  queues(key) AS (
    SELECT (SELECT queue_key FROM ${PENDING_BY_QUEUE} WHERE status = 'pending' ORDER BY queue_key LIMIT 1)
    UNION ALL
    SELECT (SELECT queue_key FROM ${PENDING_BY_QUEUE} WHERE status = 'pending' AND queue_key > queues.key
            ORDER BY queue_key LIMIT 1)
    FROM queues WHERE queues.key IS NOT NULL
  )`;

/** A queue's head: its lowest pending id (`column` of it), for each row of `queues`. */
const headOf = (column: string): string =>
  `SELECT (SELECT ${column} FROM ${PENDING_BY_QUEUE} WHERE status = 'pending' AND queue_key = queues.key
           ORDER BY id LIMIT 1)
   FROM queues WHERE queues.key IS NOT NULL`;

/** What is due: every due unordered delivery, and every queue's head when it is due. */
const DUE_SQL = `
  WITH RECURSIVE ${QUEUES_CTE},
  candidates(id) AS (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY queue_key ORDER BY next_attempt_at, id) AS rn
                    FROM deliveries INDEXED BY deliveries_due_unordered
                    WHERE status = 'pending' AND ordered = 0 AND next_attempt_at <= @now)
    WHERE rn <= ${UNORDERED_PER_QUEUE}
    UNION
    ${headOf('id')}
  )
  ${WITH_BODY} JOIN candidates c ON c.id = d.id
  WHERE d.next_attempt_at <= @now AND d.queue_key NOT IN (SELECT value FROM json_each(@held))
  ORDER BY d.next_attempt_at, d.id LIMIT @limit`;

/** The pending rows behind an ordered queue's head, in id order (one index range each). */
const FOLLOWERS_SQL = `${WITH_BODY}
  WHERE d.id IN (SELECT id FROM ${PENDING_BY_QUEUE} WHERE status = 'pending' AND queue_key = ? AND id > ? ORDER BY id LIMIT ?)
  ORDER BY d.id`;

/**
 * When the next delivery could go: the earliest due time among the rows DUE_SQL can pick,
 * every pending unordered delivery and every queue's head, never a row waiting behind a head.
 */
const NEXT_DUE_SQL = `
  WITH RECURSIVE ${QUEUES_CTE}
  SELECT min(at) FROM (
    SELECT min(next_attempt_at) AS at FROM deliveries INDEXED BY deliveries_due_unordered
    WHERE status = 'pending' AND ordered = 0
    UNION ALL
    ${headOf('next_attempt_at')}
  )`;

const ATTEMPTS_SQL = attemptsSql('@id', '@limit');

/**
 * The outbox in SQLite: events, and their deliveries to webhooks. It shares the store's
 * connection and statement cache; SQLite has one writer at a time, so a queue's ids are always
 * committed in order.
 */
export class SqliteOutbox {
  constructor(
    private readonly db: Database.Database,
    private readonly stmt: Prepare,
  ) {}

  /**
   * Inserts a change's events in order, each followed by one pending delivery per target, so
   * delivery ids follow event order. The caller runs it inside the change's transaction.
   * Answers the deliveries written, as `claim` would read them back.
   */
  insertEvents(channelId: string, events: OutboundEvent[]): DueDelivery[] {
    // The rowids from run() rather than RETURNING, which costs SQLite a result set per row.
    const insert = this.stmt('INSERT INTO events (channel_id, name, body, created_at) VALUES (?, ?, ?, ?)');
    const written: DueDelivery[] = [];
    for (const event of events) {
      const body = JSON.stringify(event.body);
      const seq = Number(insert.run(channelId, event.name, body, event.createdAt).lastInsertRowid);
      this.insertDeliveries(channelId, seq, body, event, written);
    }
    return written;
  }

  lastSeq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events').get() as { seq: number }).seq;
  }

  listEvents(channelId: string | null, afterSeq: number, limit: number): StoredEvent[] {
    const columns = 'seq, channel_id, name, body, created_at';
    const [count] = limitOffset({ count: limit, offset: 0 });
    const rows = (
      channelId === null
        ? this.stmt(`SELECT ${columns} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`).all(afterSeq, count)
        : this.stmt(`SELECT ${columns} FROM events WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?`).all(
            channelId,
            afterSeq,
            count,
          )
    ) as EventRow[];
    return rows.map((row) => ({
      seq: row.seq,
      channelId: row.channel_id,
      name: row.name as StoredEvent['name'],
      body: JSON.parse(row.body) as Record<string, unknown>,
      createdAt: row.created_at,
    }));
  }

  private insertDeliveries(channelId: string, seq: number, body: string, event: OutboundEvent, written: DueDelivery[]): void {
    const insert = this.stmt(
      `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts,
         next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
    );
    for (const target of event.targets ?? []) {
      const at = event.createdAt;
      const key = deliveryQueueKey(channelId, target);
      const id = Number(insert.run(seq, channelId, event.name, JSON.stringify(target), key, target.ordered ? 1 : 0, at, at, at).lastInsertRowid);
      written.push(pendingDelivery({ id, eventSeq: seq, channelId, eventName: event.name, target, queueKey: key, createdAt: at, body }));
    }
  }

  due(now: number, limit: number, held: string[] = []): DueDelivery[] {
    const rows = this.stmt(DUE_SQL).all({ now, limit: limitOffset({ count: limit, offset: 0 })[0], held: JSON.stringify(held) }) as DueRow[];
    return rows.map(dueFromRow);
  }

  claim(now: number, limit: number, perQueue: number, held: string[], holder?: ClaimHolder): DueDelivery[] {
    let due = this.due(now, limit, held);
    if (holder) {
      const claimed = new Set(this.claimFor(holder, [...new Set(due.map((d) => d.queueKey))], now));
      due = due.filter((d) => claimed.has(d.queueKey));
    }
    if (perQueue <= 1) return due;
    const followers = this.stmt(FOLLOWERS_SQL);
    return due.flatMap((head) =>
      head.target.ordered ? [head, ...(followers.all(head.queueKey, head.id, perQueue - 1) as DueRow[]).map(dueFromRow)] : [head],
    );
  }

  claimQueues(keys: string[], perQueue: number, now: number, holder?: ClaimHolder): DueDelivery[] {
    const claimed = holder ? this.claimFor(holder, keys, now) : keys;
    const rows = this.stmt(FOLLOWERS_SQL);
    return claimed.flatMap((key) => (rows.all(key, 0, perQueue) as DueRow[]).map(dueFromRow));
  }

  /** Claims each queue no other node holds a live claim on; answers those now held by `holder`. */
  private claimFor(holder: ClaimHolder, keys: string[], now: number): string[] {
    const upsert = this.stmt(
      `INSERT INTO delivery_claims (queue_key, node_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (queue_key) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
       WHERE delivery_claims.node_id = excluded.node_id OR delivery_claims.expires_at <= ?`,
    );
    return keys.filter((key) => upsert.run(key, holder.node, holder.until, now).changes > 0);
  }

  renewClaims(node: string, keys: string[], until: number): string[] {
    const renew = this.stmt('UPDATE delivery_claims SET expires_at = ? WHERE queue_key = ? AND node_id = ?');
    return keys.filter((key) => renew.run(until, key, node).changes > 0);
  }

  releaseClaims(node: string, keys: string[]): void {
    const release = this.stmt('DELETE FROM delivery_claims WHERE queue_key = ? AND node_id = ?');
    for (const key of keys) release.run(key, node);
  }

  /** Each outcome's delivery row and attempt row; the caller holds the transaction. */
  writeAttempts(outcomes: Array<{ id: number; result: AttemptResult }>): void {
    for (const { id, result } of outcomes) this.writeAttempt(id, result);
  }

  nextDue(): number | null {
    const next = this.stmt(NEXT_DUE_SQL, true).get() as number | null | undefined;
    return next ?? null;
  }

  recordAttempt(id: number, result: AttemptResult): void {
    this.db.transaction(() => this.writeAttempt(id, result))();
  }

  /**
   * The delivery's new state and, unless it delivered, its attempt's row; the caller holds the
   * transaction. The attempt that delivers stays on the delivery row (migration 13), where
   * `attempts` reads it back.
   */
  private writeAttempt(id: number, result: AttemptResult): void {
    const durationMs = result.durationMs ?? null;
    const answer = result.answer ?? null;
    const changed = this.stmt(
      `UPDATE deliveries SET attempts = attempts + 1, status = ?, next_attempt_at = ?, updated_at = ?,
         delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, last_status = ?, last_error = ?,
         last_duration_ms = ?, last_answer = ?
       WHERE id = ?`,
    ).run(result.status, result.nextAttemptAt, result.at, result.status, result.at, result.lastStatus, result.lastError, durationMs, answer, id);
    if (changed.changes === 0 || result.status === 'delivered') return;
    this.stmt(
      `INSERT OR REPLACE INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms, answer)
       SELECT id, attempts, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?`,
    ).run(result.at, result.lastStatus, result.lastError, durationMs, answer, id);
  }

  attempts(id: number, limit: number): DeliveryAttemptRecord[] {
    const rows = this.stmt(ATTEMPTS_SQL).all({ id, limit }) as AttemptRow[];
    return rows.map(attemptFromRow);
  }

  get(id: number): DueDelivery | null {
    const row = this.stmt(`${WITH_BODY} WHERE d.id = ?`).get(id) as DueRow | undefined;
    return row ? dueFromRow(row) : null;
  }

  list(filter: DeliveryFilter, page: Page): DeliveryPage {
    const sql = deliveryListSql(filter, () => '?');
    const rows = this.stmt(`${sql.list} LIMIT ? OFFSET ?`).all(...sql.values, ...limitOffset(page)) as DeliveryRow[];
    const total = this.stmt(sql.count, true).get(...sql.values) as number;
    return { deliveries: rows.map((row) => deliveryFromRow(row, parseJson)), ...cappedTotal(total) };
  }

  replay(ids: number[], now: number, targets?: DeliveryTarget[]): Delivery[] {
    const copy = this.stmt(
      `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts,
         next_attempt_at, created_at, updated_at, replay_of)
       SELECT event_seq, channel_id, event_name, COALESCE(@target, target), queue_key, COALESCE(@ordered, ordered),
         'pending', 0, @now, @now, @now, id
       FROM deliveries WHERE id = @id
       RETURNING ${deliveryColumns()}`,
    );
    return this.db.transaction(() =>
      ids.flatMap((id, i) => {
        const t = targets?.[i];
        const row = copy.get({ id, now, target: t ? JSON.stringify(t) : null, ordered: t ? (t.ordered ? 1 : 0) : null }) as
          | DeliveryRow
          | undefined;
        return row ? [deliveryFromRow(row, parseJson)] : [];
      }),
    )();
  }

  cancel(which: CancelFilter, reason: string, now: number): number {
    const set = `UPDATE deliveries SET status = 'cancelled', last_error = ?, updated_at = ? WHERE channel_id = ? AND status = 'pending'`;
    if ('id' in which) return this.stmt(`${set} AND id = ?`).run(reason, now, which.channelId, which.id).changes;
    const keep = JSON.stringify(which.exceptQueues);
    return this.stmt(`${set} AND queue_key NOT IN (SELECT value FROM json_each(?))`).run(reason, now, which.channelId, keep)
      .changes;
  }

  failQueue(queueKey: string, reason: string, now: number): number {
    return this.stmt(
      `UPDATE ${PENDING_BY_QUEUE} SET status = 'failed', last_error = ?, updated_at = ?
       WHERE queue_key = ? AND status = 'pending'`,
    ).run(reason, now, queueKey).changes;
  }

  depth(): { pending: number; oldestCreatedAt: number | null } {
    const row = this.stmt(
      "SELECT count(*) AS pending, min(created_at) AS oldest FROM deliveries WHERE status = 'pending'",
    ).get() as { pending: number; oldest: number | null };
    return { pending: row.pending, oldestCreatedAt: row.oldest };
  }
}
