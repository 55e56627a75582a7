import { fdatasync, fdatasyncSync, openSync, closeSync } from 'node:fs';
import type Database from 'better-sqlite3';

/**
 * At most this many writes per transaction: a long queue (a boot's 10,000 restarts) is written
 * in several, one per turn of the loop, so requests are answered between them.
 */
const MAX_BATCH = 500;

interface Entry {
  work: () => unknown;
  done: (value: unknown) => void;
  failed: (err: unknown) => void;
  /** May be answered after a WAL sync off the loop (see the constructor). */
  offLoop: boolean;
}

/**
 * Group commit for SQLite: the writes handed over in the same turn of the event loop go in one
 * transaction, so with `synchronous = FULL` many channels' changes and a batch of delivery
 * outcomes share one WAL sync instead of paying one each (a sync costs about ten times the
 * statements of a typical change). A write that fails is rolled back alone: a batch is first
 * written whole, and if one of its writes fails, it is rolled back and written again with each
 * write in its own savepoint (a savepoint per write costs almost as much as the write, and
 * writes rarely fail). Each caller's promise settles only once its write is durable, or failed.
 * Writes commit in the order they were handed over.
 */
export class GroupCommit {
  private queue: Entry[] = [];
  private scheduled = false;
  /** Transactions committed (for the benchmarks). */
  commits = 0;

  /** The WAL file, open for fdatasync once it exists. */
  private walFd: number | null = null;
  private closing = false;
  /** Whether the batch being written syncs off the loop. */
  private offLoop = false;
  /** The fdatasync issued last (it covers every commit before it), until it returns. */
  private lastSync: Promise<void> | null = null;
  private readonly normal: Database.Statement;
  private readonly full: Database.Statement;

  /**
   * `wal`: the database's WAL file, when commits must survive a power loss (synchronous =
   * FULL). A batch of writes that all allow it (`offLoop`: delivery outcomes) then commits
   * under NORMAL, with no sync on the loop, and is answered once an fdatasync of the WAL, run
   * on libuv's thread pool, has returned; the connection stays FULL for every other write.
   * Channel changes keep the sync on the loop: a status change is answered within its turn
   * (status → webhook latency; lifecycles in virtual time wait for it). Under NORMAL SQLite
   * still syncs the WAL before it checkpoints, so the database file never holds what the WAL
   * has not.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly wal: string | null = null,
  ) {
    this.normal = db.prepare('PRAGMA synchronous = NORMAL');
    this.full = db.prepare('PRAGMA synchronous = FULL');
  }

  /** Runs `work` inside the next group's transaction; resolves with its answer once committed. */
  run<T>(work: () => T, opts: { offLoop?: boolean } = {}): Promise<T> {
    return new Promise<T>((done, failed) => {
      this.queue.push({ work, done: done as (value: unknown) => void, failed, offLoop: opts.offLoop ?? false });
      this.schedule();
    });
  }

  /**
   * Resolves once every commit made so far is durable: a read that hands rows on (to be sent)
   * waits for it, so no row goes out before the commit that wrote it survives a power loss.
   */
  synced(): Promise<void> {
    return this.lastSync ?? Promise.resolve();
  }

  /** Writes everything queued now (the store is closing). */
  flush(): void {
    this.closing = true;
    while (this.queue.length > 0) this.write(this.queue.splice(0, MAX_BATCH));
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.write(this.queue.splice(0, MAX_BATCH));
      this.schedule();
    });
  }

  private write(batch: Entry[]): void {
    if (batch.length === 0) return;
    this.offLoop = this.wal !== null && batch.every((e) => e.offLoop);
    if (this.offLoop) this.normal.run();
    try {
      if (batch.length > 1 && this.writeWhole(batch)) return;
      this.writeEach(batch);
    } finally {
      if (this.offLoop) this.full.run();
    }
  }

  /** Answers the writers of a commit once it is durable: at once, or after the WAL's fdatasync. */
  private durable(written: Array<{ entry: Entry; value: unknown }>): void {
    const answer = (err: unknown): void => {
      for (const w of written) {
        if (err) w.entry.failed(err);
        else w.entry.done(w.value);
      }
    };
    if (!this.offLoop || this.wal === null || written.length === 0) return answer(null);
    try {
      this.walFd ??= openSync(this.wal, 'r');
      if (this.closing) {
        fdatasyncSync(this.walFd);
        return answer(null);
      }
      const fd = this.walFd;
      const synced = new Promise<void>((resolve) =>
        fdatasync(fd, (err) => {
          answer(err);
          resolve();
        }),
      );
      this.lastSync = synced;
      void synced.then(() => {
        if (this.lastSync === synced) this.lastSync = null;
      });
    } catch (err) {
      answer(err);
    }
  }

  /** Commits `batch` in one transaction with no savepoints; false (rolled back) if one of its writes failed. */
  private writeWhole(batch: Entry[]): boolean {
    if (!this.begin(batch)) return true;
    const values: unknown[] = [];
    try {
      for (const entry of batch) values.push(entry.work());
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return false;
    }
    this.commit(batch.map((entry, i) => ({ entry, value: values[i] })));
    return true;
  }

  /** Commits `batch` in one transaction, each write in its own savepoint. */
  private writeEach(batch: Entry[]): void {
    let applied: Array<{ entry: Entry; value: unknown }> = [];
    if (!this.begin(batch)) return;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      try {
        // Nested in the open transaction, better-sqlite3 runs it as a savepoint.
        applied.push({ entry, value: this.db.transaction(entry.work)() });
      } catch (err) {
        entry.failed(err);
        if (this.db.inTransaction) continue;
        // SQLite rolled the whole transaction back (a full disk, an I/O error): the writes it
        // held before this one are lost with it, and the rest start a new transaction.
        for (const a of applied) a.entry.failed(err);
        applied = [];
        if (!this.begin(batch.slice(i + 1))) return;
      }
    }
    this.commit(applied);
  }

  /** Opens the transaction for `entries`, or fails them all. */
  private begin(entries: Entry[]): boolean {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (err) {
      for (const entry of entries) entry.failed(err);
      return false;
    }
  }

  /** Commits what `written` wrote and answers its writers once durable, or fails them all. */
  private commit(written: Array<{ entry: Entry; value: unknown }>): void {
    try {
      this.db.exec('COMMIT');
      this.commits += 1;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of written) w.entry.failed(err);
      return;
    }
    this.durable(written);
  }
}
