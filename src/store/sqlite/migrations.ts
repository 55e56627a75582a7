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
  {
    version: 2,
    name: 'webhook deliveries',
    sql: `
      -- The outbox's second half: one row per event and webhook, written with the event.
      -- AUTOINCREMENT: an id orders its queue and names the delivery in the API; never reused.
      CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        event_name TEXT NOT NULL,
        target TEXT NOT NULL,
        queue_key TEXT NOT NULL,
        ordered INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        replay_of INTEGER
      ) STRICT;
      -- The queues with pending deliveries, and each one's head (its lowest pending id).
      CREATE INDEX deliveries_queue_pending ON deliveries (queue_key, id) WHERE status = 'pending';
      -- Unordered deliveries due, earliest first: never behind a head, so scanned apart.
      CREATE INDEX deliveries_due_unordered ON deliveries (next_attempt_at, id)
        WHERE status = 'pending' AND ordered = 0;
      -- The earliest due time of all (nextDeliveryDue).
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
      -- Listings by channel or status over a time range; the channel index serves the cascade.
      CREATE INDEX deliveries_channel_created ON deliveries (channel_id, created_at);
      CREATE INDEX deliveries_status_created ON deliveries (status, created_at);
      -- The cascade from events looks rows up by event.
      CREATE INDEX deliveries_event ON deliveries (event_seq);
    `,
  },
  {
    version: 3,
    name: 'messages, chats, idempotency keys',
    sql: `
      -- Whapi's Message objects as answered (JSON text, kept exactly). SQLite's AUTOINCREMENT
      -- exists only on the INTEGER PRIMARY KEY, so inserted_seq is the rowid and (channel_id, id)
      -- the unique key upserts go by; an upsert keeps the rowid, so a replaced message keeps its
      -- place among messages of the same second.
      CREATE TABLE messages (
        inserted_seq INTEGER PRIMARY KEY AUTOINCREMENT,
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        from_me INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        message TEXT NOT NULL,
        UNIQUE (channel_id, id)
      ) STRICT;
      CREATE INDEX messages_chat_time ON messages (channel_id, chat_id, timestamp DESC, inserted_seq DESC);
      CREATE INDEX messages_time ON messages (channel_id, timestamp DESC, inserted_seq DESC);

      CREATE TABLE chats (
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        chat_id TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT,
        timestamp INTEGER NOT NULL,
        unread INTEGER NOT NULL,
        last_message_id TEXT NOT NULL,
        PRIMARY KEY (channel_id, chat_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX chats_time ON chats (channel_id, timestamp DESC, chat_id);

      -- The first answer to a send made with an Idempotency-Key (SPEC §6: valid 24 h).
      CREATE TABLE idempotency (
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (channel_id, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX idempotency_created ON idempotency (created_at);

      -- nextDeliveryDue now walks the queue heads (deliveries_queue_pending) and takes the
      -- earliest unordered row (deliveries_due_unordered); nothing reads this index any more.
      DROP INDEX deliveries_due;
    `,
  },
  {
    version: 4,
    name: 'the last change committed per channel',
    sql: `
      -- A writer whose COMMIT answer was lost with its connection reads this before retrying.
      ALTER TABLE channels ADD COLUMN last_change_id TEXT;
    `,
  },
  {
    version: 5,
    name: 'cancelled deliveries',
    sql: `
      -- A delivery whose webhook left the channel's settings is kept as cancelled. SQLite cannot
      -- change a CHECK in place: the table is rebuilt, its AUTOINCREMENT high-water mark kept.
      CREATE TABLE deliveries_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        event_name TEXT NOT NULL,
        target TEXT NOT NULL,
        queue_key TEXT NOT NULL,
        ordered INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        delivered_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        replay_of INTEGER
      ) STRICT;
      INSERT INTO deliveries_v5 SELECT * FROM deliveries;
      DELETE FROM sqlite_sequence WHERE name = 'deliveries_v5';
      INSERT INTO sqlite_sequence (name, seq) SELECT 'deliveries_v5', seq FROM sqlite_sequence WHERE name = 'deliveries';
      DROP TABLE deliveries;
      ALTER TABLE deliveries_v5 RENAME TO deliveries;
      CREATE INDEX deliveries_queue_pending ON deliveries (queue_key, id) WHERE status = 'pending';
      CREATE INDEX deliveries_due_unordered ON deliveries (next_attempt_at, id)
        WHERE status = 'pending' AND ordered = 0;
      CREATE INDEX deliveries_channel_created ON deliveries (channel_id, created_at);
      CREATE INDEX deliveries_status_created ON deliveries (status, created_at);
      CREATE INDEX deliveries_event ON deliveries (event_seq);
    `,
  },
  {
    version: 6,
    name: 'the proxy pool and the pool proxy of each channel',
    sql: `
      -- A proxy's URL may carry credentials; it is never logged and answered without its password.
      CREATE TABLE proxies (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        label TEXT NOT NULL,
        region TEXT,
        state TEXT NOT NULL,
        state_reason TEXT,
        state_since INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      -- Only channels whose proxy setting is "auto" have a row; deleting either side drops it.
      CREATE TABLE channel_proxies (
        channel_id TEXT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
        proxy_id TEXT NOT NULL REFERENCES proxies (id) ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX channel_proxies_proxy ON channel_proxies (proxy_id);
    `,
  },
  {
    version: 7,
    name: 'media files',
    sql: `
      -- Media files (SPEC §6): uploads, media sent and media received, with their bytes.
      CREATE TABLE media (
        channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        file_name TEXT,
        created_at INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        UNIQUE (channel_id, id)
      ) STRICT;
      CREATE INDEX media_channel_created ON media (channel_id, created_at);
      CREATE INDEX media_created ON media (created_at);
    `,
  },
  {
    version: 8,
    name: 'delivery log and retention indexes',
    sql: `
      -- The delivery log pages newest first (by id) within a channel, a status, or both; without
      -- these SQLite sorted every match in a temporary B-tree.
      CREATE INDEX deliveries_channel_id ON deliveries (channel_id, id);
      CREATE INDEX deliveries_channel_status_id ON deliveries (channel_id, status, id);
      CREATE INDEX deliveries_status_id ON deliveries (status, id);
      -- Retention walks events and history by age.
      CREATE INDEX events_created ON events (created_at);
      CREATE INDEX status_history_at ON status_history (at);
    `,
  },
  {
    version: 9,
    name: 'nodes, channel leases, and the epoch of each write',
    sql: `
      -- PostgreSQL's nodes and leases, for a schema the same in both dialects. SQLite is one
      -- process per data directory (the data-dir lock): these tables stay empty and the columns null.
      CREATE TABLE nodes (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('up', 'leaving'))
      );
      CREATE TABLE channel_leases (
        channel_id TEXT PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
        node_id TEXT,
        epoch INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL,
        start_pending INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX channel_leases_node ON channel_leases (node_id, channel_id);
      ALTER TABLE status_history ADD COLUMN node_id TEXT;
      ALTER TABLE status_history ADD COLUMN epoch INTEGER;
      ALTER TABLE events ADD COLUMN node_id TEXT;
      ALTER TABLE events ADD COLUMN epoch INTEGER;
    `,
  },
  {
    version: 10,
    name: 'the delivery log in (created_at, id) order',
    sql: `
      -- The log is ordered by (created_at, id): each filter's index yields that order after its
      -- equality columns (id is the rowid every index ends with), so a time range is read as a
      -- range, never sorted. The (..., id) indexes of migration 8 are not read any more.
      DROP INDEX deliveries_channel_id;
      DROP INDEX deliveries_channel_status_id;
      DROP INDEX deliveries_status_id;
      CREATE INDEX deliveries_channel_status_created ON deliveries (channel_id, status, created_at);
      CREATE INDEX deliveries_created ON deliveries (created_at);
    `,
  },
  {
    version: 11,
    name: 'each attempt of a delivery, with the first bytes of its answer',
    sql: `
      CREATE TABLE delivery_attempts (
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        status INTEGER,
        error TEXT,
        duration_ms INTEGER,
        answer TEXT,
        PRIMARY KEY (delivery_id, attempt)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 12,
    name: 'delivery queue claims',
    sql: `
      -- Which node sends each delivery queue, until when (PostgreSQL's several nodes; SQLite is
      -- one process per data directory, and claims only when asked to).
      CREATE TABLE delivery_claims (
        queue_key TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX delivery_claims_node ON delivery_claims (node_id, queue_key);
    `,
  },
  {
    version: 13,
    name: 'a delivered attempt kept on its delivery row',
    sql: `
      -- Most deliveries succeed on their first attempt. The attempt that delivers stays on the
      -- delivery row (its answer's duration and first bytes here, the rest in last_status and
      -- delivered_at) instead of a delivery_attempts row of its own: one row fewer per delivered
      -- event, inserted out of id order into a packed B-tree. The log lists it from the row.
      ALTER TABLE deliveries ADD COLUMN last_duration_ms INTEGER;
      ALTER TABLE deliveries ADD COLUMN last_answer TEXT;
      -- A delivered row given another outcome (a duplicate send's) keeps the attempt that
      -- delivered it: that attempt moves to delivery_attempts first.
      CREATE TRIGGER deliveries_keep_delivered_attempt BEFORE UPDATE OF attempts ON deliveries
        WHEN OLD.status = 'delivered'
      BEGIN
        INSERT OR IGNORE INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms, answer)
        VALUES (OLD.id, OLD.attempts, OLD.delivered_at, OLD.last_status, OLD.last_error, OLD.last_duration_ms, OLD.last_answer);
      END;
    `,
  },
];
