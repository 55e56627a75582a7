import pg from 'pg';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { tempDataDir } from './process.js';

/** A place for a gateway's data: a fresh SQLite directory or a fresh PostgreSQL database. */
export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  env: Record<string, string>;
  drop(): Promise<void>;
}

export type DatabaseFactory = () => Promise<TestDatabase>;

/** The store kinds an end-to-end test runs on; PostgreSQL only where a server answers. */
export async function databaseKinds(): Promise<Array<[string, DatabaseFactory | null]>> {
  const pgServer = await postgresForTests();
  return [
    ['sqlite', async () => ({ kind: 'sqlite', env: { WAGATE_DATA_DIR: tempDataDir() }, drop: async () => undefined })],
    ['postgres', pgServer ? () => freshPostgresDatabase(pgServer.url) : null],
  ];
}

/** A database of its own on the test server: its URL, and `drop` removes it (closing whatever still uses it). */
export async function createDatabase(serverUrl: string, prefix = 'wagate_e2e'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Creates a new database on the test server for a gateway; `drop` removes it. */
async function freshPostgresDatabase(serverUrl: string): Promise<TestDatabase> {
  const db = await createDatabase(serverUrl);
  return { kind: 'postgres', env: { WAGATE_DATABASE_URL: db.url, WAGATE_DATA_DIR: tempDataDir() }, drop: db.drop };
}
