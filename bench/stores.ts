/**
 * The store a bench measures on: BENCH_STORES names the kinds (default `sqlite,postgres`), each
 * run gets a fresh data directory and, on PostgreSQL, a schema of its own on the test server.
 */
import { openStore, type OpenStoreOptions } from '../src/store/index.js';
import { createTestSchema, TEST_DATABASE_URL } from '../src/store/postgres/testing.js';
import type { Store } from '../src/store/types.js';
import { tempDataDir } from '../test/support/process.js';
import type { FillTarget } from './fill.js';

export const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

export interface BenchStore {
  kind: string;
  dataDir: string;
  /** The PostgreSQL schema (for `startGateway`'s `pgSchema`), undefined on SQLite. */
  pgSchema: string | undefined;
  /** The gateway's environment for this store: its data directory and, on PostgreSQL, the database. */
  env: Record<string, string>;
  /** Where the bulk fills write. */
  to: FillTarget;
  /** Opens (and migrates) the store. */
  open(opts?: Partial<OpenStoreOptions>): Promise<Store>;
  /** Drops the PostgreSQL schema. */
  drop(): Promise<void>;
}

export async function benchStore(kind: string, dataDirPrefix: string): Promise<BenchStore> {
  const dataDir = tempDataDir(dataDirPrefix);
  const schema = kind === 'postgres' ? await createTestSchema(TEST_DATABASE_URL) : null;
  const databaseUrl = schema ? TEST_DATABASE_URL : undefined;
  return {
    kind,
    dataDir,
    pgSchema: schema?.schema,
    env: { WAGATE_DATA_DIR: dataDir, ...(databaseUrl ? { WAGATE_DATABASE_URL: databaseUrl } : {}) },
    to: schema ? { kind: 'postgres', url: TEST_DATABASE_URL, schema: schema.schema } : { kind: 'sqlite', path: `${dataDir}/wagate.db` },
    open: (opts = {}) => openStore({ databaseUrl, dataDir, pgSchema: schema?.schema, ...opts }),
    drop: async () => await schema?.drop(),
  };
}

/** The store settings a bench on one store passes on from its own environment (WAGATE_DATABASE_URL, WAGATE_SQLITE_SYNCHRONOUS). */
export function storeEnvFromProcess(): Record<string, string> {
  return Object.fromEntries(['WAGATE_DATABASE_URL', 'WAGATE_SQLITE_SYNCHRONOUS'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
}

/** Runs `measure` on each of STORES in turn, prints the results as JSON, and exits 1 on a failure. */
export function measureEachStore(measure: (kind: string) => Promise<Record<string, unknown>>): void {
  (async () => {
    const results = [];
    for (const kind of STORES) results.push(await measure(kind));
    console.log(JSON.stringify(results, null, 2));
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
