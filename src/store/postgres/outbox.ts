import type pg from 'pg';
import {
  attemptsSql,
  attemptFromRow,
  cappedTotal,
  deliveryColumns,
  deliveryFromRow,
  deliveryListSql,
  limitOffset,
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
  Page,
  StoredEvent,
} from '../types.js';
import { withTransaction } from './pool.js';

interface EventRow {
  seq: number;
  channel_id: string;
  name: string;
  body: Record<string, unknown>;
  created_at: number;
}

type DueRow = DeliveryRow & { body: string };

const asIs = (value: unknown): unknown => value;

const COLUMNS = deliveryColumns('d');

/** A delivery with its event's body joined in, as the exact text stored (json keeps it). */
const WITH_BODY = `SELECT ${COLUMNS}, e.body::text AS body FROM deliveries d JOIN events e ON e.seq = d.event_seq`;

const dueFromRow = (row: DueRow): DueDelivery => Object.assign(deliveryFromRow(row, asIs), { body: row.body });

/**
 * The distinct queues with a pending delivery, walked one index seek per queue, so a long
 * backlog behind a head waiting for its retry is never scanned.
 */
const QUEUES_CTE = `
  queues(key) AS (
    SELECT (SELECT queue_key FROM deliveries WHERE status = 'pending' ORDER BY queue_key LIMIT 1)
    UNION ALL
    SELECT (SELECT queue_key FROM deliveries WHERE status = 'pending' AND queue_key > queues.key
            ORDER BY queue_key LIMIT 1)
    FROM queues WHERE queues.key IS NOT NULL
  )`;

/** A queue's head: its lowest pending id (`column` of it), for each row of `queues`. */
const headOf = (column: string): string =>
  `SELECT (SELECT ${column} FROM deliveries WHERE status = 'pending' AND queue_key = queues.key ORDER BY id LIMIT 1)
   FROM queues WHERE queues.key IS NOT NULL`;

/** What is due ($1: now, $2: limit, $3: queues to leave out): every due unordered delivery, and every queue's head when it is due. */
const DUE_SQL = `
  WITH RECURSIVE ${QUEUES_CTE},
  candidates(id) AS (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY queue_key ORDER BY next_attempt_at, id) AS rn
                    FROM deliveries WHERE status = 'pending' AND NOT ordered AND next_attempt_at <= $1) AS unordered
    WHERE rn <= ${UNORDERED_PER_QUEUE}
    UNION
    ${headOf('id')}
  )
  ${WITH_BODY} JOIN candidates c ON c.id = d.id
  WHERE d.next_attempt_at <= $1 AND NOT (d.queue_key = ANY($3::text[]))
  ORDER BY d.next_attempt_at, d.id LIMIT $2`;

/**
 * The distinct queues with something due ($1 now, $2 limit, $3 queues to leave out) that no
 * other node ($4) holds a live claim on.
 */
const DUE_UNCLAIMED_SQL = `
  SELECT key FROM (
    SELECT d.queue_key AS key, min(d.next_attempt_at) AS at FROM (${DUE_SQL.replace(/LIMIT \$2\s*$/, '')}) d
    WHERE NOT EXISTS (SELECT 1 FROM delivery_claims c WHERE c.queue_key = d.queue_key AND c.node_id <> $4 AND c.expires_at > $1)
    GROUP BY d.queue_key
  ) AS due ORDER BY at LIMIT $2`;

/** The pending rows behind each ordered head ($1 keys, $2 head ids, $3 how many), one index range each. */
const FOLLOWERS_SQL = `
  SELECT ${COLUMNS}, e.body::text AS body
  FROM unnest($1::text[], $2::bigint[]) AS h(key, head)
  CROSS JOIN LATERAL (SELECT * FROM deliveries p WHERE p.status = 'pending' AND p.queue_key = h.key AND p.id > h.head
                      ORDER BY p.id LIMIT $3) d
  JOIN events e ON e.seq = d.event_seq
  ORDER BY d.id`;

/**
 * When the next delivery could go: the earliest due time among the rows DUE_SQL can pick,
 * every pending unordered delivery and every queue's head, never a row waiting behind a head.
 */
const NEXT_DUE_SQL = `
  WITH RECURSIVE ${QUEUES_CTE}
  SELECT min(at) AS next FROM (
    SELECT min(next_attempt_at) AS at FROM deliveries WHERE status = 'pending' AND NOT ordered
    UNION ALL
    ${headOf('next_attempt_at')}
  ) AS candidates`;

const ATTEMPTS_SQL = attemptsSql('$1', '$2');

/**
 * The outbox in PostgreSQL: events, and their deliveries to webhooks (written by bulk-changes.ts).
 * Ids come from a sequence, so a queue's ids are committed in order only because every write to a
 * channel's queues holds that channel's row lock (commitChange, replay): a lower id never appears
 * after a higher one.
 */
export class PostgresOutbox {
  constructor(private readonly pool: pg.Pool) {}

  async lastSeq(): Promise<number> {
    const { rows } = await this.pool.query<{ seq: string }>('SELECT COALESCE(MAX(seq), 0)::text AS seq FROM events');
    return Number(rows[0]?.seq ?? 0);
  }

  async listEvents(channelId: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const [count] = limitOffset({ count: limit, offset: 0 });
    // Seqs come from a sequence, so a transaction still in flight can commit a lower seq after a
    // higher one is visible: this is a listing, not a gap-free cursor (the delivery queues are).
    const { rows } = await this.pool.query<EventRow>(
      `SELECT seq, channel_id, name, body, created_at FROM events
       WHERE ($1::text IS NULL OR channel_id = $1) AND seq > $2 ORDER BY seq LIMIT $3`,
      [channelId, afterSeq, count],
    );
    return rows.map((row) => ({
      seq: row.seq,
      channelId: row.channel_id,
      name: row.name as StoredEvent['name'],
      body: row.body,
      createdAt: row.created_at,
    }));
  }

  async due(now: number, limit: number, held: string[] = []): Promise<DueDelivery[]> {
    const { rows } = await this.pool.query<DueRow>(DUE_SQL, [now, limitOffset({ count: limit, offset: 0 })[0], held]);
    return rows.map(dueFromRow);
  }

  async claim(now: number, limit: number, perQueue: number, held: string[], holder?: ClaimHolder): Promise<DueDelivery[]> {
    if (holder) {
      // Several nodes: the due queues no other node holds, claimed, then read afresh, so that
      // no row another node finished before it let the queue go is answered as pending.
      const { rows } = await this.pool.query<{ key: string }>(DUE_UNCLAIMED_SQL, [now, limitOffset({ count: limit, offset: 0 })[0], held, holder.node]);
      return this.claimQueues(rows.map((r) => r.key), perQueue, now, holder);
    }
    const due = await this.due(now, limit, held);
    const heads = due.filter((d) => d.target.ordered);
    if (perQueue <= 1 || heads.length === 0) return due;
    const { rows } = await this.pool.query<DueRow>(FOLLOWERS_SQL, [heads.map((d) => d.queueKey), heads.map((d) => d.id), perQueue - 1]);
    const behind = new Map<string, DueDelivery[]>();
    for (const row of rows.map(dueFromRow)) behind.set(row.queueKey, [...(behind.get(row.queueKey) ?? []), row]);
    return due.flatMap((head) => (head.target.ordered ? [head, ...(behind.get(head.queueKey) ?? [])] : [head]));
  }

  async claimQueues(keys: string[], perQueue: number, now: number, holder?: ClaimHolder): Promise<DueDelivery[]> {
    if (keys.length === 0) return [];
    let claimed = keys;
    if (holder) {
      const { rows } = await this.pool.query<{ queue_key: string }>(
        `INSERT INTO delivery_claims (queue_key, node_id, expires_at) SELECT k, $2, $3 FROM unnest($1::text[]) AS k
         ON CONFLICT (queue_key) DO UPDATE SET node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at
         WHERE delivery_claims.node_id = EXCLUDED.node_id OR delivery_claims.expires_at <= $4
         RETURNING queue_key`,
        [keys, holder.node, holder.until, now],
      );
      claimed = rows.map((r) => r.queue_key);
      if (claimed.length === 0) return [];
    }
    // A later statement, so a later snapshot: it sees every outcome committed before the claim.
    const { rows } = await this.pool.query<DueRow>(FOLLOWERS_SQL, [claimed, claimed.map(() => 0), perQueue]);
    return rows.map(dueFromRow);
  }

  async renewClaims(node: string, keys: string[], until: number): Promise<string[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.pool.query<{ queue_key: string }>(
      'UPDATE delivery_claims SET expires_at = $3 WHERE node_id = $2 AND queue_key = ANY($1::text[]) RETURNING queue_key',
      [keys, node, until],
    );
    return rows.map((r) => r.queue_key);
  }

  async releaseClaims(node: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query('DELETE FROM delivery_claims WHERE node_id = $2 AND queue_key = ANY($1::text[])', [keys, node]);
  }

  /** Deliveries by id with their bodies (a replay's copies, to hand to the dispatcher). */
  async withBodies(ids: number[]): Promise<DueDelivery[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<DueRow>(`${WITH_BODY} WHERE d.id = ANY($1::bigint[]) ORDER BY d.id`, [ids]);
    return rows.map(dueFromRow);
  }

  async recordAttempts(outcomes: Array<{ id: number; result: AttemptResult }>): Promise<void> {
    if (outcomes.length === 0) return;
    const r = outcomes.map((o) => o.result);
    // One statement for the whole batch (the deliveries and their attempts' rows): one round
    // trip, one commit. The attempt that delivers stays on the delivery row (migration 14).
    await this.pool.query(
      `WITH u AS (
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[], $6::text[], $7::integer[], $8::text[])
           AS u(id, status, next, at, last_status, last_error, duration_ms, answer)
       ), done AS (
         UPDATE deliveries d SET attempts = d.attempts + 1, status = u.status, next_attempt_at = u.next, updated_at = u.at,
           delivered_at = CASE WHEN u.status = 'delivered' THEN u.at ELSE d.delivered_at END, last_status = u.last_status,
           last_error = u.last_error, last_duration_ms = u.duration_ms, last_answer = u.answer
         FROM u WHERE d.id = u.id
         RETURNING d.id, d.attempts, d.status
       )
       INSERT INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms, answer)
       SELECT done.id, done.attempts, u.at, u.last_status, u.last_error, u.duration_ms, u.answer FROM done JOIN u ON u.id = done.id
       WHERE done.status <> 'delivered'
       ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = EXCLUDED.at, status = EXCLUDED.status, error = EXCLUDED.error,
         duration_ms = EXCLUDED.duration_ms, answer = EXCLUDED.answer`,
      [
        outcomes.map((o) => o.id),
        r.map((x) => x.status),
        r.map((x) => x.nextAttemptAt),
        r.map((x) => x.at),
        r.map((x) => x.lastStatus),
        r.map((x) => x.lastError),
        r.map((x) => x.durationMs ?? null),
        r.map((x) => x.answer ?? null),
      ],
    );
  }

  async attempts(id: number, limit: number): Promise<DeliveryAttemptRecord[]> {
    const { rows } = await this.pool.query<AttemptRow>(ATTEMPTS_SQL, [id, limit]);
    return rows.map(attemptFromRow);
  }

  async nextDue(): Promise<number | null> {
    const { rows } = await this.pool.query<{ next: number | null }>(NEXT_DUE_SQL);
    return rows[0]?.next ?? null;
  }

  async recordAttempt(id: number, result: AttemptResult): Promise<void> {
    await this.recordAttempts([{ id, result }]);
  }

  async get(id: number): Promise<DueDelivery | null> {
    const { rows } = await this.pool.query<DueRow>(`${WITH_BODY} WHERE d.id = $1`, [id]);
    return rows[0] ? dueFromRow(rows[0]) : null;
  }

  async list(filter: DeliveryFilter, page: Page): Promise<DeliveryPage> {
    const sql = deliveryListSql(filter, (n) => `$${n}`);
    const n = sql.values.length;
    const [list, count] = await Promise.all([
      this.pool.query<DeliveryRow>(`${sql.list} LIMIT $${n + 1} OFFSET $${n + 2}`, [...sql.values, ...limitOffset(page)]),
      this.pool.query<{ total: number }>(sql.count, sql.values),
    ]);
    return { deliveries: list.rows.map((row) => deliveryFromRow(row, asIs)), ...cappedTotal(Number(count.rows[0]?.total ?? 0)) };
  }

  async replay(ids: number[], now: number, targets?: DeliveryTarget[]): Promise<Delivery[]> {
    if (ids.length === 0) return [];
    return withTransaction(this.pool, async (c) => {
      // The channels' locks, in id order as commitChange takes them: no copy can get an id
      // below a delivery of its queue that a change in flight has yet to commit.
      await c.query(
        `SELECT 1 FROM channels WHERE id IN (SELECT channel_id FROM deliveries WHERE id = ANY($1::bigint[]))
         ORDER BY id FOR NO KEY UPDATE`,
        [ids],
      );
      const { rows } = await c.query<DeliveryRow>(
        `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts,
           next_attempt_at, created_at, updated_at, replay_of)
         SELECT d.event_seq, d.channel_id, d.event_name, COALESCE(r.target::jsonb, d.target), d.queue_key,
           COALESCE((r.target::jsonb ->> 'ordered')::boolean, d.ordered), 'pending', 0, $2, $2, $2, d.id
         FROM unnest($1::bigint[], $3::text[]) WITH ORDINALITY AS r(id, target, n) JOIN deliveries d ON d.id = r.id
         ORDER BY r.n
         RETURNING ${deliveryColumns()}`,
        [ids, now, ids.map((_, i) => (targets?.[i] ? JSON.stringify(targets[i]) : null))],
      );
      // Ids were drawn in the order of `ids`; RETURNING's own order is not promised.
      return rows.sort((a, b) => a.id - b.id).map((row) => deliveryFromRow(row, asIs));
    });
  }

  async cancel(which: CancelFilter, reason: string, now: number): Promise<number> {
    const set = `UPDATE deliveries SET status = 'cancelled', last_error = $1, updated_at = $2 WHERE channel_id = $3 AND status = 'pending'`;
    const result =
      'id' in which
        ? await this.pool.query(`${set} AND id = $4`, [reason, now, which.channelId, which.id])
        : await this.pool.query(`${set} AND NOT (queue_key = ANY($4::text[]))`, [reason, now, which.channelId, which.exceptQueues]);
    return result.rowCount ?? 0;
  }

  async failQueue(queueKey: string, reason: string, now: number): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'failed', last_error = $2, updated_at = $3
       WHERE queue_key = $1 AND status = 'pending'`,
      [queueKey, reason, now],
    );
    return result.rowCount ?? 0;
  }

  async depth(): Promise<{ pending: number; oldestCreatedAt: number | null }> {
    const { rows } = await this.pool.query<{ pending: number; oldest: number | null }>(
      "SELECT count(*) AS pending, min(created_at) AS oldest FROM deliveries WHERE status = 'pending'",
    );
    return { pending: rows[0]?.pending ?? 0, oldestCreatedAt: rows[0]?.oldest ?? null };
  }
}
