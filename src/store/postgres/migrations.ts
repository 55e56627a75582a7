import type { Migration } from '../migrations.js';

/**
 * PostgreSQL's schema, step by step, table for table the same as SQLite's. Children cascade
 * from `channels`, so deleting a channel takes everything of it along in one statement.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'channels, status history, events, credentials, meta',
    sql: `
      CREATE TABLE channels (
        id text PRIMARY KEY,
        name text NOT NULL,
        engine text NOT NULL,
        token_hash text NOT NULL,
        created_at bigint NOT NULL,
        stopped boolean NOT NULL DEFAULT false,
        settings jsonb NOT NULL,
        engine_options jsonb NOT NULL,
        status text NOT NULL,
        status_reason text NOT NULL,
        status_detail text,
        status_since bigint NOT NULL,
        start_at bigint,
        linked_user jsonb
      );
      CREATE UNIQUE INDEX channels_token_hash ON channels (token_hash);
      CREATE INDEX channels_created ON channels (created_at, id);

      CREATE TABLE status_history (
        id bigserial PRIMARY KEY,
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        at bigint NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        reason text NOT NULL,
        detail text
      );
      CREATE INDEX status_history_channel_at ON status_history (channel_id, at DESC, id DESC);

      -- The outbox's first half. The body is json, not jsonb: it keeps the wire envelope's
      -- text exactly (key order, and \\u0000, which jsonb refuses), and nothing queries into it.
      CREATE TABLE events (
        seq bigserial PRIMARY KEY,
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        name text NOT NULL,
        body json NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX events_channel_seq ON events (channel_id, seq);

      CREATE TABLE credentials (
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        key text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (channel_id, key)
      );

      CREATE TABLE meta (
        key text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'webhook deliveries',
    sql: `
      -- The outbox's second half: one row per event and webhook, written with the event.
      CREATE TABLE deliveries (
        id bigserial PRIMARY KEY,
        event_seq bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        event_name text NOT NULL,
        target jsonb NOT NULL,
        queue_key text NOT NULL,
        ordered boolean NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        delivered_at bigint,
        last_status integer,
        last_error text,
        replay_of bigint
      );
      -- The queues with pending deliveries, and each one's head (its lowest pending id).
      CREATE INDEX deliveries_queue_pending ON deliveries (queue_key, id) WHERE status = 'pending';
      -- Unordered deliveries due, earliest first: never behind a head, so scanned apart.
      CREATE INDEX deliveries_due_unordered ON deliveries (next_attempt_at, id)
        WHERE status = 'pending' AND NOT ordered;
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
      -- Whapi's Message objects as answered: json, not jsonb, keeps the object's text (key order)
      -- exactly. inserted_seq orders messages of the same second; an upsert keeps it.
      CREATE TABLE messages (
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        id text NOT NULL,
        chat_id text NOT NULL,
        from_me boolean NOT NULL,
        timestamp bigint NOT NULL,
        message json NOT NULL,
        inserted_seq bigserial NOT NULL,
        PRIMARY KEY (channel_id, id)
      );
      CREATE INDEX messages_chat_time ON messages (channel_id, chat_id, timestamp DESC, inserted_seq DESC);
      CREATE INDEX messages_time ON messages (channel_id, timestamp DESC, inserted_seq DESC);

      -- chat_id in byte order ("C"), as SQLite compares: chats of the same second list alike
      -- in both dialects whatever the database's collation.
      CREATE TABLE chats (
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        chat_id text COLLATE "C" NOT NULL,
        type text NOT NULL,
        name text,
        timestamp bigint NOT NULL,
        unread integer NOT NULL,
        last_message_id text NOT NULL,
        PRIMARY KEY (channel_id, chat_id)
      );
      CREATE INDEX chats_time ON chats (channel_id, timestamp DESC, chat_id);

      -- The first answer to a send made with an Idempotency-Key (SPEC §6: valid 24 h).
      CREATE TABLE idempotency (
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        key text NOT NULL,
        request_hash text NOT NULL,
        status integer NOT NULL,
        response json NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (channel_id, key)
      );
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
      ALTER TABLE channels ADD COLUMN last_change_id text;
    `,
  },
  {
    version: 5,
    name: 'cancelled deliveries',
    sql: `
      -- A delivery whose webhook left the channel's settings is kept as cancelled.
      ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
      ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
        CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled'));
    `,
  },
  {
    version: 6,
    name: 'the proxy pool and the pool proxy of each channel',
    sql: `
      -- A proxy's URL may carry credentials; it is never logged and answered without its password.
      CREATE TABLE proxies (
        id text PRIMARY KEY,
        url text NOT NULL,
        label text NOT NULL,
        region text,
        state text NOT NULL,
        state_reason text,
        state_since bigint NOT NULL,
        created_at bigint NOT NULL
      );

      -- Only channels whose proxy setting is "auto" have a row; deleting either side drops it.
      CREATE TABLE channel_proxies (
        channel_id text PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
        proxy_id text NOT NULL REFERENCES proxies (id) ON DELETE CASCADE
      );
      CREATE INDEX channel_proxies_proxy ON channel_proxies (proxy_id);
    `,
  },
  {
    version: 7,
    name: 'media files',
    sql: `
      -- Media files (SPEC §6): uploads, media sent and media received, with their bytes.
      CREATE TABLE media (
        channel_id text NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
        id text NOT NULL,
        mime_type text NOT NULL,
        file_size bigint NOT NULL,
        sha256 text NOT NULL,
        file_name text,
        created_at bigint NOT NULL,
        bytes bytea NOT NULL,
        PRIMARY KEY (channel_id, id)
      );
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
      -- Each gateway process on this database is a node; it heartbeats while it lives (SPEC §10).
      CREATE TABLE nodes (
        id text PRIMARY KEY,
        url text NOT NULL,
        started_at bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        state text NOT NULL CHECK (state IN ('up', 'leaving'))
      );

      -- One lease per channel: only its node runs the channel's engine and writes its status.
      -- The epoch grows with every new owner; a released lease keeps it (node_id null).
      CREATE TABLE channel_leases (
        channel_id text PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
        node_id text,
        epoch bigint NOT NULL,
        expires_at bigint NOT NULL,
        acquired_at bigint NOT NULL,
        start_pending boolean NOT NULL DEFAULT false
      );
      CREATE INDEX channel_leases_node ON channel_leases (node_id, channel_id);

      -- Which owner wrote each status change and event.
      ALTER TABLE status_history ADD COLUMN node_id text;
      ALTER TABLE status_history ADD COLUMN epoch bigint;
      ALTER TABLE events ADD COLUMN node_id text;
      ALTER TABLE events ADD COLUMN epoch bigint;
    `,
  },
  {
    version: 10,
    name: 'the delivery log in (created_at, id) order',
    sql: `
      -- The log is ordered by (created_at, id): each filter's index yields that order after its
      -- equality columns, so a time range is read as a range, never sorted. The (..., id)
      -- indexes of migration 8 are not read any more.
      DROP INDEX deliveries_channel_id;
      DROP INDEX deliveries_channel_status_id;
      DROP INDEX deliveries_status_id;
      DROP INDEX deliveries_channel_created;
      DROP INDEX deliveries_status_created;
      CREATE INDEX deliveries_channel_created ON deliveries (channel_id, created_at, id);
      CREATE INDEX deliveries_channel_status_created ON deliveries (channel_id, status, created_at, id);
      CREATE INDEX deliveries_status_created ON deliveries (status, created_at, id);
      CREATE INDEX deliveries_created ON deliveries (created_at, id);
    `,
  },
  {
    version: 11,
    name: 'each attempt of a delivery, with the first bytes of its answer',
    sql: `
      -- One row per attempt: the delivery row keeps only the last answer. Pruned with the delivery.
      CREATE TABLE delivery_attempts (
        delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        at bigint NOT NULL,
        status integer,
        error text,
        duration_ms integer,
        answer text,
        PRIMARY KEY (delivery_id, attempt)
      );
    `,
  },
  {
    version: 12,
    name: 'delivery queue claims',
    sql: `
      -- Which node sends each delivery queue, until when: a node sends a queue's rows only while
      -- it holds the queue's claim, so no two nodes attempt one delivery at once and a queue
      -- keeps its order whichever node sends it; a dead node's claims lapse at expires_at.
      CREATE TABLE delivery_claims (
        queue_key text PRIMARY KEY,
        node_id text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX delivery_claims_node ON delivery_claims (node_id, queue_key);
    `,
  },
  {
    version: 13,
    name: 'stream tickets',
    sql: `
      -- Single-use tickets for the partner event stream, shared by every node: a ticket issued
      -- by one node opens the stream on another. Only the hash is kept; expired rows are pruned.
      CREATE TABLE stream_tickets (
        hash text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX stream_tickets_expiry ON stream_tickets (expires_at);
    `,
  },
  {
    version: 14,
    name: 'fewer index entries per delivered event',
    sql: `
      -- A delivery is written pending and rewritten once finished (never a HOT update: status is
      -- indexed), and every index takes an entry for each version of the row. The log's
      -- (status, ...) indexes keep finished rows only; the pending rows of a channel have an
      -- index of their own, small, whose entries die with the pending version; the outbox's depth
      -- reads it whole. The log writes the status as a literal, so the planner sees which index
      -- holds a filter's rows.
      DROP INDEX deliveries_status_created;
      CREATE INDEX deliveries_status_created ON deliveries (status, created_at, id) WHERE status <> 'pending';
      DROP INDEX deliveries_channel_status_created;
      CREATE INDEX deliveries_channel_status_created ON deliveries (channel_id, status, created_at, id)
        WHERE status <> 'pending';
      CREATE INDEX deliveries_channel_pending ON deliveries (channel_id, created_at, id) WHERE status = 'pending';

      -- Most deliveries succeed on their first attempt. The attempt that delivers stays on the
      -- delivery row (its answer's duration and first bytes here, the rest in last_status and
      -- delivered_at) instead of a delivery_attempts row of its own: a heap tuple and an index
      -- entry fewer per delivered event. The log lists it from the row.
      ALTER TABLE deliveries ADD COLUMN last_duration_ms integer, ADD COLUMN last_answer text;
      -- A delivered row given another outcome (a duplicate send's) keeps the attempt that
      -- delivered it: that attempt moves to delivery_attempts first.
      CREATE FUNCTION deliveries_keep_delivered_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms, answer)
        VALUES (OLD.id, OLD.attempts, OLD.delivered_at, OLD.last_status, OLD.last_error, OLD.last_duration_ms, OLD.last_answer)
        ON CONFLICT (delivery_id, attempt) DO NOTHING;
        RETURN NEW;
      END $$;
      CREATE TRIGGER deliveries_keep_delivered_attempt BEFORE UPDATE OF attempts ON deliveries
        FOR EACH ROW WHEN (OLD.status = 'delivered') EXECUTE FUNCTION deliveries_keep_delivered_attempt();

      -- Every change rewrites its channel's row (last_change_id, the status): room left in each
      -- page lets that be a HOT update, with no new entry in the channel's four indexes. Pages
      -- written from now on keep it; older ones as they are rewritten.
      ALTER TABLE channels SET (fillfactor = 50);
    `,
  },
];
