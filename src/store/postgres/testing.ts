import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The database the PostgreSQL tests use (`WAGATE_TEST_DATABASE_URL`, else a local trust login). */
export const TEST_DATABASE_URL = process.env.WAGATE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** How long the probe waits for the server before the suites are skipped (or fail). */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Finds the test server. Answers `{ url }` when it answers within ~2 s. Otherwise, with
 * `WAGATE_REQUIRE_POSTGRES=1` it throws (the suite must fail, as in CI); without, it warns
 * and answers null so the caller can `describe.skip`.
 */
export async function postgresForTests(): Promise<{ url: string } | null> {
  const url = TEST_DATABASE_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  // A failure after connect (server going away) must not crash the test process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { url };
  } catch (err) {
    if (process.env.WAGATE_REQUIRE_POSTGRES === '1') {
      throw new Error(`WAGATE_REQUIRE_POSTGRES=1 but no PostgreSQL server at ${redact(url)}: ${String(err)}`);
    }
    console.warn(`PostgreSQL suite skipped: no server at ${redact(url)}`);
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema of its own for one test or suite; `drop()` removes it with everything in it. */
export interface TestSchema {
  schema: string;
  drop(): Promise<void>;
}

/** Creates a fresh, uniquely named schema `wagate_test_<random>` in the test database. */
export async function createTestSchema(url: string): Promise<TestSchema> {
  const schema = `wagate_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(url, `CREATE SCHEMA ${schema}`);
  return { schema, drop: () => adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

/** One statement on a short-lived connection (schema DDL outside any store's pool). */
async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS * 5 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL without its password, fit for a log line. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable database url>';
  }
}
