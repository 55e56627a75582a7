import pg from 'pg';

/** How to reach PostgreSQL, and where wagate's tables live. */
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
  /** A query with no answer for this long fails on the client side (ms; default: none). */
  queryTimeoutMs?: number;
  /**
   * A transaction left idle this long is ended by the server (ms; default: none): a node cut off
   * mid-transaction must not hold a channel's locks past its lease.
   */
  idleInTransactionTimeoutMs?: number;
  /** The query timeout of the nodes-and-leases pool (ms, default 3000): a slow renewal fails fast. */
  clusterQueryTimeoutMs?: number;
}

const INT8_OID = 20;

/**
 * bigint columns (ms timestamps, seqs) come back as JS numbers. Set on this pool only: a global
 * pg.types.setTypeParser would change every other pg user in the process.
 */
function localTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  return oid === INT8_OID && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format);
}
const LOCAL_TYPES: pg.CustomTypesConfig = { getTypeParser: localTypeParser as typeof pg.types.getTypeParser };

/** Unquoted identifiers only, so a schema name can go into search_path and DDL as it is. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` can be used unquoted. */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _`);
  }
}

/** The store's pool: local bigint parsing, and every connection inside the store's schema. */
export function createPool(opts: PostgresStoreOptions): pg.Pool {
  if (opts.schema !== undefined) assertSchemaName(opts.schema);
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 30_000,
    types: LOCAL_TYPES,
    query_timeout: opts.queryTimeoutMs,
    // Set at connection start-up, so no pooled connection ever runs a query outside it.
    options: startupOptions(opts),
  });
  // Without a listener, an idle connection's error would crash the process.
  pool.on('error', opts.onIdleError ?? (() => undefined));
  return pool;
}

function startupOptions(opts: PostgresStoreOptions): string | undefined {
  const settings: string[] = [];
  if (opts.schema !== undefined) settings.push(`-c search_path=${opts.schema}`);
  if (opts.idleInTransactionTimeoutMs !== undefined) settings.push(`-c idle_in_transaction_session_timeout=${Math.floor(opts.idleInTransactionTimeoutMs)}`);
  return settings.length === 0 ? undefined : settings.join(' ');
}

/** Runs `fn` between BEGIN and COMMIT on one connection; any error rolls everything back. */
export async function withTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no listener of the pool's: a backend terminated or a socket reset
  // while this transaction holds it would otherwise be an unhandled 'error' event and end the
  // process. The failed query rejects on its own; the client is dropped from the pool below.
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A failed ROLLBACK means the connection itself is unusable: drop it from the pool.
    if (!broken) await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken ?? undefined);
  }
}
