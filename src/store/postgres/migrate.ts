import type pg from 'pg';
import { pendingMigrations } from '../migrations.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { withTransaction } from './pool.js';

/**
 * Applies the missing migrations in one transaction. Two processes starting at once: the
 * second waits on the advisory lock, then finds nothing to do. The lock is keyed by schema, so
 * test suites in their own schemas do not queue behind each other.
 */
export async function applyPostgresMigrations(pool: pg.Pool, schema: string | undefined): Promise<void> {
  await withTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wagate.migrate:${schema ?? ''}`]);
    if (schema !== undefined) {
      // Look before creating: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege on
      // the database, which a least-privilege role with a prepared schema does not have.
      const found = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rowCount === 0) await c.query(`CREATE SCHEMA ${schema}`);
    }
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
