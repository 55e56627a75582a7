import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(): { db: Database.Database; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wagate-group-'));
  dirs.push(dir);
  const path = join(dir, 'g.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v TEXT NOT NULL UNIQUE)');
  return { db, path };
}

describe('GroupCommit', () => {
  it('commits the writes of one turn in one transaction, each answered once durable', async () => {
    const { db, path } = open();
    const group = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const answers = await Promise.all(['a', 'b', 'c'].map((v) => group.run(() => insert.run(v).changes)));
    expect(answers).toEqual([1, 1, 1]);
    expect(group.commits).toBe(1);
    // Another connection sees them: they were committed, not only written.
    const other = new Database(path, { readonly: true });
    expect(other.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual(['a', 'b', 'c']);
    other.close();
    db.close();
  });

  it('rolls a failing write back alone and commits the others of its group', async () => {
    const { db } = open();
    const group = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const results = await Promise.allSettled([
      group.run(() => insert.run('a')),
      group.run(() => {
        insert.run('b');
        insert.run('a'); // UNIQUE: this write fails half-way, and its 'b' must go too
      }),
      group.run(() => insert.run('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual(['a', 'c']);
    expect(db.inTransaction).toBe(false);
    db.close();
  });

  it('writes a long queue in several transactions, in the order it was handed over', async () => {
    const { db } = open();
    const group = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const values = Array.from({ length: 1200 }, (_, i) => `v${String(i).padStart(4, '0')}`);
    const settled: string[] = [];
    await Promise.all(values.map((v) => group.run(() => insert.run(v)).then(() => settled.push(v))));
    expect(settled).toEqual(values);
    expect(group.commits).toBeGreaterThan(1);
    expect(db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all()).toEqual(values);
    db.close();
  });

  it('writes what is queued when flushed at once (the store closing)', async () => {
    const { db } = open();
    const group = new GroupCommit(db);
    const written = group.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('x'));
    group.flush();
    db.close();
    await expect(written).resolves.toMatchObject({ changes: 1 });
  });

  it('syncs a group of off-loop writes after committing it at NORMAL, answers once synced, and leaves the connection FULL', async () => {
    const { db, path } = open();
    db.pragma('synchronous = FULL');
    const group = new GroupCommit(db, `${path}-wal`);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let answered = false;
    const written = Promise.all(['a', 'b'].map((v) => group.run(() => insert.run(v).changes, { offLoop: true }))).then((a) => {
      answered = true;
      return a;
    });
    // Committed on the next turn; answered only once the WAL's fdatasync has returned.
    await new Promise((r) => setImmediate(r));
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2);
    await group.synced();
    expect(await written).toEqual([1, 1]);
    expect(answered).toBe(true);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    // Closing writes what is queued and syncs it before answering.
    const last = group.run(() => insert.run('c').changes, { offLoop: true });
    group.flush();
    expect(await last).toBe(1);
    db.close();
  });
});
