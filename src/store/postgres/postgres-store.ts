import pg from 'pg';
import type { HistoryEntry } from '../../protocol/index.js';
import { UnknownChannelError } from '../errors.js';
import { pendingMigrations } from '../migrations.js';
import {
  CHANNEL_COLUMNS,
  HISTORY_COLUMNS,
  channelFromRow,
  historyFromRow,
  initialRecord,
  limitOffset,
  patchColumns,
  type ChannelRow,
  type HistoryRow,
} from '../rows.js';
import type {
  ChannelChange,
  ChannelPatch,
  ChannelRecord,
  NewChannel,
  OutboundEvent,
  Page,
  Store,
  StoredEvent,
} from '../types.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Tables live in this schema (created by migrate() if missing); default: the server's search_path. */
  schema?: string;
  /** Pool size (default 10). */
  max?: number;
  /** How long to wait for a connection, new or from the pool (ms, default 30000). */
  connectionTimeoutMillis?: number;
  /** Errors of idle pooled connections (server restart, network); the pool replaces them. */
  onIdleError?: (err: Error) => void;
}

const INT8_OID = 20;

/**
 * bigint columns (ms timestamps, seqs) come back as JS numbers. Set on this pool only: a global
 * pg.types.setTypeParser would change every other pg user in the process.
 */
const LOCAL_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Unquoted identifiers only, so a schema name can go into search_path and DDL as it is. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

type Db = pg.Pool | pg.PoolClient;

interface EventRow {
  seq: number;
  channel_id: string;
  name: string;
  body: Record<string, unknown>;
  created_at: number;
}

/** The PostgreSQL store: a connection pool; every multi-statement write is one transaction. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;

  constructor(opts: PostgresStoreOptions) {
    if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
      throw new Error(`invalid schema name ${JSON.stringify(opts.schema)}: use lower-case letters, digits and _`);
    }
    this.schema = opts.schema;
    this.pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: opts.max ?? 10,
      connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 30_000,
      types: LOCAL_TYPES,
      // Set at connection start-up, so no pooled connection ever runs a query outside it.
      options: opts.schema === undefined ? undefined : `-c search_path=${opts.schema}`,
    });
    // Without a listener, an idle connection's error would crash the process.
    this.pool.on('error', opts.onIdleError ?? (() => undefined));
  }

  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      // Two processes starting at once: the second waits here, then finds nothing to do.
      // Keyed by schema, so test suites in their own schemas do not queue behind each other.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wagate.migrate:${this.schema ?? ''}`]);
      if (this.schema !== undefined) await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
      );
      const { rows } = await c.query<{ version: number }>('SELECT version FROM schema_migrations');
      for (const migration of pendingMigrations(POSTGRES_MIGRATIONS, rows.map((r) => r.version))) {
        await c.query(migration.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
          migration.version,
          Date.now(),
        ]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord> {
    const r = initialRecord(channel);
    const { rows } = await this.pool.query<ChannelRow>(
      `INSERT INTO channels (${CHANNEL_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13, $14::jsonb)
       RETURNING ${CHANNEL_COLUMNS}`,
      [
        r.id,
        r.name,
        r.engine,
        r.tokenHash,
        r.createdAt,
        r.stopped,
        JSON.stringify(r.settings),
        JSON.stringify(r.engineOptions),
        r.status,
        r.statusReason,
        r.statusDetail,
        r.statusSince,
        r.startAt,
        r.user === null ? null : JSON.stringify(r.user),
      ],
    );
    return channelFromRow(rows[0] as ChannelRow, (v) => v);
  }

  async getChannel(id: string): Promise<ChannelRecord | null> {
    return this.channelWhere('id', id);
  }

  async findChannelByTokenHash(tokenHash: string): Promise<ChannelRecord | null> {
    return this.channelWhere('token_hash', tokenHash);
  }

  async listChannels(page: Page): Promise<{ channels: ChannelRecord[]; total: number }> {
    const [limit, offset] = limitOffset(page);
    const [list, count] = await Promise.all([
      this.pool.query<ChannelRow>(
        `SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id LIMIT $1 OFFSET $2`,
        [limit, offset],
      ),
      this.pool.query<{ total: number }>('SELECT count(*) AS total FROM channels'),
    ]);
    return { channels: list.rows.map((row) => channelFromRow(row, (v) => v)), total: count.rows[0]?.total ?? 0 };
  }

  async allChannels(): Promise<ChannelRecord[]> {
    const { rows } = await this.pool.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id`);
    return rows.map((row) => channelFromRow(row, (v) => v));
  }

  async updateChannel(id: string, patch: ChannelPatch): Promise<boolean> {
    const columns = patchColumns(patch);
    if (columns.length === 0) return this.channelExists(this.pool, id);
    const assignments = columns.map((c, i) => `${c.column} = $${i + 2}${c.json ? '::jsonb' : ''}`).join(', ');
    const result = await this.pool.query(`UPDATE channels SET ${assignments} WHERE id = $1`, [
      id,
      ...columns.map((c) => c.value),
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteChannel(id: string): Promise<boolean> {
    // History, events and credentials go by ON DELETE CASCADE, in the same statement.
    const result = await this.pool.query('DELETE FROM channels WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async commitChange(change: ChannelChange): Promise<void> {
    const { channelId, snapshot } = change;
    await this.transaction(async (c) => {
      await this.lockChannel(c, channelId);
      if (snapshot) {
        await c.query(
          `UPDATE channels SET status = $2, status_reason = $3, status_detail = $4, status_since = $5, start_at = $6,
             linked_user = $7::jsonb WHERE id = $1`,
          [
            channelId,
            snapshot.status,
            snapshot.statusReason,
            snapshot.statusDetail,
            snapshot.statusSince,
            snapshot.startAt,
            snapshot.user === null ? null : JSON.stringify(snapshot.user),
          ],
        );
      }
      for (const entry of change.history ?? []) {
        await c.query(
          `INSERT INTO status_history (channel_id, at, from_status, to_status, reason, detail)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [channelId, entry.at, entry.from, entry.to, entry.reason, entry.detail ?? null],
        );
      }
      if (change.wipeCredentials) await c.query('DELETE FROM credentials WHERE channel_id = $1', [channelId]);
      await this.insertEvents(c, channelId, change.events ?? []);
      // Outbox seam: the deliveries migration inserts one row per (event seq x matching
      // webhook) right here, inside this same transaction.
    });
  }

  async listHistory(channelId: string, page: Page): Promise<{ history: HistoryEntry[]; total: number }> {
    const [limit, offset] = limitOffset(page);
    const [list, count] = await Promise.all([
      this.pool.query<HistoryRow>(
        `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = $1
         ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3`,
        [channelId, limit, offset],
      ),
      this.pool.query<{ total: number }>('SELECT count(*) AS total FROM status_history WHERE channel_id = $1', [
        channelId,
      ]),
    ]);
    return { history: list.rows.map(historyFromRow), total: count.rows[0]?.total ?? 0 };
  }

  async historySince(channelId: string, since: number): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = $1 AND at >= $2 ORDER BY at, id`,
      [channelId, since],
    );
    return rows.map(historyFromRow);
  }

  async listEvents(channelId: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const [count] = limitOffset({ count: limit, offset: 0 });
    // Seqs come from a sequence, so a transaction still in flight can commit a lower seq after a
    // higher one is visible: this is a listing, not a gap-free cursor (the deliveries are).
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

  async getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>> {
    if (keys.length === 0) return {};
    const { rows } = await this.pool.query<{ key: string; value: string }>(
      'SELECT key, value FROM credentials WHERE channel_id = $1 AND key = ANY($2::text[])',
      [channelId, keys],
    );
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  }

  async setCredentials(channelId: string, entries: Record<string, string | null>): Promise<void> {
    // Sorted, so two writers touching the same keys lock them in the same order (no deadlock).
    const sorted = Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const upserts = sorted.filter((e): e is [string, string] => e[1] !== null);
    const deletes = sorted.filter(([, value]) => value === null).map(([key]) => key);
    await this.transaction(async (c) => {
      await this.lockChannel(c, channelId);
      if (upserts.length > 0) {
        await c.query(
          `INSERT INTO credentials (channel_id, key, value)
           SELECT $1, k, v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(k, v, n) ORDER BY n
           ON CONFLICT (channel_id, key) DO UPDATE SET value = EXCLUDED.value`,
          [channelId, upserts.map(([k]) => k), upserts.map(([, v]) => v)],
        );
      }
      if (deletes.length > 0) {
        await c.query('DELETE FROM credentials WHERE channel_id = $1 AND key = ANY($2::text[])', [channelId, deletes]);
      }
    });
  }

  async wipeCredentials(channelId: string): Promise<void> {
    await this.transaction(async (c) => {
      // Same lock order as setCredentials (channel row first), so the two never deadlock.
      const exists = await this.channelExists(c, channelId, 'FOR NO KEY UPDATE');
      if (exists) await c.query('DELETE FROM credentials WHERE channel_id = $1', [channelId]);
    });
  }

  async getMeta(key: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, value],
    );
  }

  /** Inserts a change's events in order and answers their seqs (the deliveries will need them). */
  private async insertEvents(c: pg.PoolClient, channelId: string, events: OutboundEvent[]): Promise<number[]> {
    const seqs: number[] = [];
    for (const event of events) {
      const { rows } = await c.query<{ seq: number }>(
        'INSERT INTO events (channel_id, name, body, created_at) VALUES ($1, $2, $3::json, $4) RETURNING seq',
        [channelId, event.name, JSON.stringify(event.body), event.createdAt],
      );
      seqs.push((rows[0] as { seq: number }).seq);
    }
    return seqs;
  }

  /**
   * Locks the channel's row for the rest of the transaction, or throws when it is gone. Every
   * write that touches several of a channel's rows takes this lock first, so they serialise per
   * channel and always lock in the same order.
   */
  private async lockChannel(c: pg.PoolClient, channelId: string): Promise<void> {
    if (!(await this.channelExists(c, channelId, 'FOR NO KEY UPDATE'))) throw new UnknownChannelError(channelId);
  }

  private async channelExists(db: Db, id: string, lock = ''): Promise<boolean> {
    const { rowCount } = await db.query(`SELECT 1 FROM channels WHERE id = $1 ${lock}`, [id]);
    return (rowCount ?? 0) > 0;
  }

  private async channelWhere(column: 'id' | 'token_hash', value: string): Promise<ChannelRecord | null> {
    const { rows } = await this.pool.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE ${column} = $1`, [
      value,
    ]);
    return rows[0] ? channelFromRow(rows[0], (v) => v) : null;
  }

  /** Runs `fn` between BEGIN and COMMIT on one connection; any error rolls everything back. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection itself is unusable: drop it from the pool.
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** Opens a PostgreSQL store (not yet migrated). */
export function openPostgresStore(opts: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(opts);
}
