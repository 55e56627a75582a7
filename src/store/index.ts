import { join } from 'node:path';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export type * from './types.js';
export type * from './cluster.js';
export { UnknownChannelError, StoreUnavailableError, LeaseLostError, isStoreFault } from './errors.js';
export { deliveryQueueKey } from './rows.js';

export interface OpenStoreOptions {
  /** `postgres://...`: use PostgreSQL; absent: embedded SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Where the SQLite file `wagate.db` lives (created if missing). */
  dataDir: string;
  /** PostgreSQL schema for wagate's tables (created if missing). */
  pgSchema?: string;
  /** SQLite's durability setting (default `full`). */
  sqliteSynchronous?: 'full' | 'normal';
  /** PostgreSQL: a transaction idle this long is ended by the server (a node cut off mid-write). */
  pgIdleInTransactionTimeoutMs?: number;
  /** PostgreSQL: the query timeout of lease renewals and placement. */
  pgClusterQueryTimeoutMs?: number;
}

/** Opens the configured store and brings its schema up to date before answering. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const store: Store = opts.databaseUrl
    ? new PostgresStore({
        connectionString: opts.databaseUrl,
        schema: opts.pgSchema,
        idleInTransactionTimeoutMs: opts.pgIdleInTransactionTimeoutMs,
        clusterQueryTimeoutMs: opts.pgClusterQueryTimeoutMs,
      })
    : new SqliteStore(join(opts.dataDir, 'wagate.db'), { synchronous: opts.sqliteSynchronous });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
