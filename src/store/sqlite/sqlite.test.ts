import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract.js';
import { newChannel } from '../contract/fixtures.js';
import { openStore } from '../index.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
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
});
