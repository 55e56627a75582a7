import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract.js';
import { newChannel } from '../contract/fixtures.js';
import { openStore } from '../index.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { deliveryListSql } from '../rows.js';
import { pruneBatches } from '../retention-rows.js';
import { LOG_FILTERS } from '../contract/fixtures.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'wagate-sqlite-'));
let files = 0;
const nextPath = (): string => join(dir, `store-${++files}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract('sqlite', async () => {
  const store = new SqliteStore(nextPath());
  return { store, cleanup: () => store.close() };
});

describe('SqliteStore', () => {
  it('creates the data directory and wagate.db through openStore', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const store = await openStore({ dataDir });
    try {
      expect(store.kind).toBe('sqlite');
      expect(existsSync(join(dataDir, 'wagate.db'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('keeps its data when the file is closed and opened again', async () => {
    const path = nextPath();
    const first = new SqliteStore(path);
    await first.migrate();
    const channel = await first.createChannel(newChannel());
    await first.setCredentials(channel.id, { creds: 'kept' });
    await first.close();

    const second = new SqliteStore(path);
    try {
      await second.migrate();
      expect(await second.getChannel(channel.id)).toStrictEqual(channel);
      expect(await second.getCredentials(channel.id, ['creds'])).toStrictEqual({ creds: 'kept' });
    } finally {
      await second.close();
    }
  });

  it('records each migration once, however often migrate() runs', async () => {
    const path = nextPath();
    const store = new SqliteStore(path);
    await store.migrate();
    const raw = new Database(path, { readonly: true });
    try {
      const before = raw.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all();
      await store.migrate();
      await store.migrate();
      const after = raw.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all();
      expect(after).toStrictEqual(before);
      expect(after.map((row) => (row as { version: number }).version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    } finally {
      raw.close();
      await store.close();
    }
  });

  it('checkpoints the WAL on a thread of its own once it writes, and lets the thread go on close', async () => {
    const path = nextPath();
    const store = new SqliteStore(path);
    await store.migrate();
    const { id } = await store.createChannel(newChannel());
    try {
      const sizeBefore = statSync(path).size;
      for (let i = 0; i < 150; i++) {
        await store.commitChange({ channelId: id, events: [{ name: 'channel.post', body: { i, pad: 'x'.repeat(2000) }, createdAt: i }] });
      }
      // Far fewer pages than SQLite's own checkpoint threshold: only the checkpointer copies them into the file.
      for (let tries = 0; statSync(path).size <= sizeBefore; tries++) {
        if (tries > 500) throw new Error('the WAL was never checkpointed into the database file');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await store.close();
    }
  });

  it('runs in WAL mode with foreign keys enforced', async () => {
    const path = nextPath();
    const store = new SqliteStore(path);
    await store.migrate();
    await store.close();
    const raw = new Database(path);
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
    // Enforcement is per connection; the store's own is what matters, so check it through a
    // write that only a foreign key can refuse.
    const again = new SqliteStore(path);
    await again.migrate();
    try {
      const raw2 = (again as unknown as { db: Database.Database }).db;
      expect(raw2.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(() =>
        raw2.prepare("INSERT INTO credentials (channel_id, key, value) VALUES ('GONE-00000', 'k', 'v')").run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      await again.close();
    }
  });

  it('keeps deliveries and their id high-water mark through the rebuild that allows cancelled', async () => {
    const path = nextPath();
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    for (const m of SQLITE_MIGRATIONS.filter((m) => m.version < 5)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.version);
    }
    raw.exec(`INSERT INTO channels (id, name, engine, token_hash, created_at, stopped, settings, engine_options, status, status_reason, status_since)
              VALUES ('C1', 'c', 'sandbox', 'h', 1, 0, '{}', '{}', 'STOP', 'x', 1)`);
    raw.exec("INSERT INTO events (channel_id, name, body, created_at) VALUES ('C1', 'channel.post', '{}', 1)");
    const insert = raw.prepare(`INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, next_attempt_at, created_at, updated_at)
                                VALUES (1, 'C1', 'channel.post', '{}', 'q', 1, 'pending', 1, 1, 1)`);
    for (let i = 0; i < 3; i++) insert.run();
    raw.exec('DELETE FROM deliveries WHERE id = 3');
    raw.close();

    const store = new SqliteStore(path);
    try {
      await store.migrate();
      const db = (store as unknown as { db: Database.Database }).db;
      expect(db.prepare('SELECT id FROM deliveries ORDER BY id').pluck().all()).toEqual([1, 2]);
      db.prepare("UPDATE deliveries SET status = 'cancelled' WHERE id = 2").run();
      const next = db.prepare(`INSERT INTO deliveries (event_seq, channel_id, event_name, target, queue_key, ordered, status, next_attempt_at, created_at, updated_at)
                               VALUES (1, 'C1', 'channel.post', '{}', 'q', 1, 'pending', 1, 1, 1) RETURNING id`).pluck().get();
      expect(next).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('answers each delivery-log filter and each retention sweep from an index, never sorting a page (EXPLAIN QUERY PLAN)', async () => {
    const path = nextPath();
    const store = new SqliteStore(path);
    await store.migrate();
    await store.close();
    const db = new Database(path, { readonly: true });
    const plan = (sql: string, values: unknown[]): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...values) as Array<{ detail: string }>).map((p) => p.detail).join(' | ');
    try {
      for (const filter of LOG_FILTERS) {
        const q = deliveryListSql(filter, () => '?');
        const page = plan(`${q.list} LIMIT 100 OFFSET 0`, q.values);
        const count = plan(q.count, q.values);
        if (Object.keys(filter).length > 0) {
          expect(page, JSON.stringify(filter)).toMatch(/SEARCH d USING INDEX/);
          expect(count, JSON.stringify(filter)).toMatch(/USING (COVERING )?INDEX/);
        }
        // Every filter, time ranges included, reads its matches in the log's order: none sorts.
        expect(page, JSON.stringify(filter)).not.toMatch(/TEMP B-TREE/);
      }
      for (const { select } of pruneBatches(() => '?')) expect(plan(select, [1, 500]), select).not.toMatch(/\bSCAN (deliveries|events|e|status_history)\b(?! USING)/);
    } finally {
      db.close();
    }
  });
});
