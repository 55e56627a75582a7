import type Database from 'better-sqlite3';
import { pendingMigrations } from '../migrations.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

/**
 * Applies the missing migrations in one transaction. IMMEDIATE takes the write lock up front,
 * so a second process migrating the same file waits, then finds the versions already applied.
 */
export function applySqliteMigrations(db: Database.Database): void {
  const apply = db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
    );
    const applied = db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[];
    for (const migration of pendingMigrations(SQLITE_MIGRATIONS, applied)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
        .run(migration.version, Date.now());
    }
  });
  apply.immediate();
}
