/**
 * Bulk fills for benches: a million rows in one SQL statement per table (SQLite's recursive CTE,
 * PostgreSQL's generate_series), instead of a million commits through the store.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { hashToken } from '../src/channel/tokens.js';
import { deliveryQueueKey } from '../src/store/rows.js';
import type { DeliveryTarget } from '../src/store/types.js';

/** Where a bench's rows go: an SQLite file or a PostgreSQL schema. */
export type FillTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

export interface DeliveryFill {
  channelId: string;
  rows: number;
  /** created_at of the first row (unix ms); each next row is `stepMs` later. */
  from: number;
  stepMs: number;
  /** Every `pendingEvery`-th row stays pending (0: none), every 31st failed, every 47th cancelled. */
  pendingEvery: number;
  hook: string;
  /** When the pending rows are due (unix ms; default: their created_at). */
  pendingDueAt?: number;
}

/** The target every filled delivery carries (an ordered webhook). */
export function fillTarget(hook: string): DeliveryTarget {
  return { url: hook, mode: 'body', headers: {}, secret: null, maxAgeSeconds: 172_800, ordered: true, backoffDelayMs: 3000, maxBackoffDelayMs: 600_000 };
}

/** The status of filled row `i` (1-based), as the SQL below computes it. */
const STATUS_SQL = (i: string, pendingEvery: number): string =>
  `CASE WHEN ${pendingEvery} > 0 AND ${i} % ${Math.max(1, pendingEvery)} = 0 THEN 'pending'
        WHEN ${i} % 31 = 0 THEN 'failed' WHEN ${i} % 47 = 0 THEN 'cancelled' ELSE 'delivered' END`;

/** A channel row in AUTH, stopped or not, whose token is `token`. */
export interface ChannelFill {
  id: string;
  token: string;
  createdAt: number;
  status: 'AUTH' | 'NOT_INIT';
  settings: Record<string, unknown>;
}

/** The sandbox engine's saved account: a channel with it goes back to AUTH without a scan. */
const SANDBOX_ACCOUNT = 'sandbox.account';

const CHANNEL_INSERT = `INSERT INTO channels (id, name, engine, token_hash, created_at, stopped, settings, engine_options, status,
  status_reason, status_detail, status_since, start_at, linked_user)`;

/** Inserts channels in one transaction (SQLite) or a few multi-row statements (PostgreSQL). */
export async function fillChannels(to: FillTarget, channels: ChannelFill[], engineOptions: Record<string, unknown>): Promise<void> {
  const user = JSON.stringify({ id: '15550000000', name: 'bench', is_business: false });
  const values = (c: ChannelFill): unknown[] => [
    c.id,
    c.id,
    'sandbox',
    hashToken(c.token),
    c.createdAt,
    JSON.stringify(c.settings),
    JSON.stringify(engineOptions),
    c.status,
    'bench',
    c.createdAt,
    c.status === 'AUTH' ? c.createdAt : null,
    c.status === 'AUTH' ? user : null,
  ];
  if (to.kind === 'sqlite') {
    const db = new Database(to.path);
    try {
      const insert = db.prepare(`${CHANNEL_INSERT} VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, NULL, ?, ?, ?)`);
      const creds = db.prepare('INSERT INTO credentials (channel_id, key, value) VALUES (?, ?, ?)');
      db.transaction(() =>
        channels.forEach((c) => {
          insert.run(...values(c));
          if (c.status === 'AUTH') creds.run(c.id, SANDBOX_ACCOUNT, user);
        }),
      )();
    } finally {
      db.close();
    }
    return;
  }
  await withPg(to, async (client) => {
    for (let i = 0; i < channels.length; i += 1000) {
      const chunk = channels.slice(i, i + 1000);
      const params: unknown[] = [];
      const rows = chunk.map((c) => {
        const v = values(c);
        const at = params.length;
        params.push(...v);
        const p = (n: number): string => `$${at + n}`;
        return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, false, ${p(6)}::jsonb, ${p(7)}::jsonb, ${p(8)}, ${p(9)}, NULL, ${p(10)}, ${p(11)}, ${p(12)}::jsonb)`;
      });
      await client.query(`${CHANNEL_INSERT} VALUES ${rows.join(', ')}`, params);
      const authed = chunk.filter((c) => c.status === 'AUTH').map((c) => c.id);
      await client.query('INSERT INTO credentials (channel_id, key, value) SELECT id, $2, $3 FROM unnest($1::text[]) AS id', [authed, SANDBOX_ACCOUNT, user]);
    }
  });
}

/** Inserts `rows` events of one channel, each with one delivery to `hook`, in bulk SQL. */
export async function fillDeliveries(to: FillTarget, fill: DeliveryFill): Promise<void> {
  const target = JSON.stringify(fillTarget(fill.hook));
  const key = deliveryQueueKey(fill.channelId, fillTarget(fill.hook));
  const body = JSON.stringify({ health: { channel_id: fill.channelId, status: { code: 4, text: 'AUTH' } }, event: { type: 'channel', event: 'post' }, channel_id: fill.channelId });
  if (to.kind === 'sqlite') {
    const db = new Database(to.path);
    try {
      db.pragma('journal_mode = WAL');
      const first = (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck().get() as number) + 1;
      db.transaction(() => {
        db.prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
           INSERT INTO events (channel_id, name, body, created_at) SELECT @channel, 'channel.post', @body, @from + i * @step FROM n`,
        ).run({ rows: fill.rows, channel: fill.channelId, body, from: fill.from, step: fill.stepMs });
        db.prepare(
          `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts, next_attempt_at,
             created_at, updated_at, delivered_at, last_status)
           SELECT seq, channel_id, name, @target, @key, 1, s.status, CASE s.status WHEN 'pending' THEN 0 ELSE 1 END,
             CASE s.status WHEN 'pending' THEN COALESCE(@due, created_at) ELSE created_at END,
             created_at, created_at, CASE s.status WHEN 'delivered' THEN created_at END, CASE s.status WHEN 'delivered' THEN 200 END
           FROM (SELECT seq, channel_id, name, created_at, ${STATUS_SQL('(seq - @first + 1)', fill.pendingEvery)} AS status
                 FROM events WHERE seq >= @first) s`,
        ).run({ target, key, first, due: fill.pendingDueAt ?? null });
      })();
      db.exec('ANALYZE');
    } finally {
      db.close();
    }
    return;
  }
  await withPg(to, async (client) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ first: string }>('SELECT COALESCE(MAX(seq), 0) + 1 AS first FROM events');
    const first = Number(rows[0]?.first ?? 1);
    await client.query(
      `INSERT INTO events (channel_id, name, body, created_at)
       SELECT $1, 'channel.post', $2::json, $3::bigint + i * $4::bigint FROM generate_series(1, $5::int) AS i`,
      [fill.channelId, body, fill.from, fill.stepMs, fill.rows],
    );
    await client.query(
      `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts, next_attempt_at,
         created_at, updated_at, delivered_at, last_status)
       SELECT seq, channel_id, name, $1::jsonb, $2, true, s.status, CASE s.status WHEN 'pending' THEN 0 ELSE 1 END,
         CASE s.status WHEN 'pending' THEN COALESCE($4::bigint, created_at) ELSE created_at END,
         created_at, created_at, CASE s.status WHEN 'delivered' THEN created_at END, CASE s.status WHEN 'delivered' THEN 200 END
       FROM (SELECT seq, channel_id, name, created_at, ${STATUS_SQL('(seq - $3 + 1)', fill.pendingEvery)} AS status
             FROM events WHERE seq >= $3) s`,
      [target, key, first, fill.pendingDueAt ?? null],
    );
    await client.query('COMMIT');
    // As autovacuum would soon after: statistics, and the visibility map index-only scans use.
    await client.query('VACUUM ANALYZE deliveries');
    await client.query('VACUUM ANALYZE events');
  });
}

/** `rows` pending deliveries spread round-robin over `channelIds`, each to `target`, due at `at`. */
export async function fillBacklog(to: FillTarget, channelIds: string[], rows: number, target: DeliveryTarget, at: number): Promise<void> {
  const json = JSON.stringify(target);
  const suffix = ` ${target.mode} ${target.url}`; // deliveryQueueKey: channel, mode, url
  const body = JSON.stringify({ event: { type: 'channel', event: 'post' }, health: { status: { code: 4, text: 'AUTH' } } });
  if (to.kind === 'sqlite') {
    const db = new Database(to.path);
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TEMP TABLE bench_ids (n INTEGER PRIMARY KEY, id TEXT NOT NULL)');
      const add = db.prepare('INSERT INTO bench_ids (n, id) VALUES (?, ?)');
      db.transaction(() => channelIds.forEach((id, n) => add.run(n, id)))();
      const first = (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM events').pluck().get() as number) + 1;
      db.transaction(() => {
        db.prepare(
          `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < @rows - 1)
           INSERT INTO events (channel_id, name, body, created_at)
           SELECT b.id, 'channel.post', @body, @at FROM n JOIN bench_ids b ON b.n = n.i % @channels ORDER BY n.i`,
        ).run({ rows, body, at, channels: channelIds.length });
        db.prepare(
          `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts, next_attempt_at, created_at, updated_at)
           SELECT seq, channel_id, name, @json, channel_id || @suffix, @ordered, 'pending', 0, @at, @at, @at FROM events WHERE seq >= @first ORDER BY seq`,
        ).run({ json, suffix, ordered: target.ordered ? 1 : 0, at, first });
      })();
    } finally {
      db.close();
    }
    return;
  }
  await withPg(to, async (client) => {
    await client.query('BEGIN');
    const { rows: r } = await client.query<{ first: string }>('SELECT COALESCE(MAX(seq), 0) + 1 AS first FROM events');
    await client.query(
      `INSERT INTO events (channel_id, name, body, created_at)
       SELECT ($1::text[])[1 + (i % array_length($1::text[], 1))], 'channel.post', $2::json, $3::bigint FROM generate_series(0, $4::int - 1) AS i ORDER BY i`,
      [channelIds, body, at, rows],
    );
    await client.query(
      `INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT seq, channel_id, name, $1::jsonb, channel_id || $2, $3, 'pending', 0, $4::bigint, $4::bigint, $4::bigint FROM events WHERE seq >= $5 ORDER BY seq`,
      [json, suffix, target.ordered, at, Number(r[0]?.first ?? 1)],
    );
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE deliveries');
    await client.query('VACUUM ANALYZE events');
  });
}

/** Runs `fn` on one client inside the target's schema. */
export async function withPg<T>(to: Extract<FillTarget, { kind: 'postgres' }>, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: to.url });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${to.schema}`);
    return await fn(client);
  } finally {
    await client.end();
  }
}
