import type { Migration } from '../migrations.js';

/**
 * SQLite's schema, step by step. Tables are STRICT so a wrong type (a fractional timestamp, a
 * string in a number column) fails as it does in PostgreSQL instead of being stored quietly.
 * Children cascade from `channels`, so deleting a channel takes everything of it along.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'channels, status history, events, credentials, meta',
    sql: `
      CREATE TABLE channels (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        engine TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        stopped INTEGER NOT NULL DEFAULT 0,
        settings TEXT NOT NULL,
        engine_options TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT NOT NULL,
        status_detail TEXT,
        status_since INTEGER NOT NULL,
        start_at INTEGER,
        linked_user TEXT
      ) STRICT;
      CREATE UNIQUE INDEX channels_token_hash ON channels (token_hash);
      CREATE INDEX channels_created ON channels (created_at, id);

      CREATE TABLE status_history (
        id INTEGER PRIMARY KEY,
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT
      ) STRICT;
      CREATE INDEX status_history_channel_at ON status_history (channel_id, at DESC, id DESC);

      -- The outbox's first half. AUTOINCREMENT because a seq is a cursor and must never be
      -- reused, even after the newest rows are deleted.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX events_channel_seq ON events (channel_id, seq);

      CREATE TABLE credentials (
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (channel_id, key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
];
