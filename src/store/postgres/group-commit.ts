import { isStoreFault } from '../errors.js';
import type { ChannelChange } from '../types.js';

/** At most this many changes per transaction, so one batch never holds a connection for long. */
const MAX_BATCH = 512;

interface Waiting {
  change: ChannelChange;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How the store writes one change alone, and a batch of them in one transaction. */
export interface GroupWriter {
  one(change: ChannelChange): Promise<void>;
  many(changes: ChannelChange[]): Promise<void>;
}

/**
 * Group commit for PostgreSQL: the changes handed over in the same turn of the event loop, or
 * while the pool's batches are being written, go in one transaction of a few statements
 * (bulk-changes.ts) instead of a transaction each, so 10,000 channels resuming at boot cost a few
 * dozen commits instead of 30,000. Each caller's promise settles once its change is durable. A
 * store fault fails the whole batch (each journal retries its own change, and knows by its
 * change id whether it landed); a change refused for itself (its channel deleted, its lease
 * lost) is found by writing that batch again one change at a time.
 */
export class PostgresGroupCommit {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idle: Array<() => void> = [];
  /** Batches written, each one transaction unless it was retried change by change (for the benchmarks). */
  commits = 0;

  constructor(
    private readonly writer: GroupWriter,
    private readonly concurrency = 4,
  ) {}

  /** Resolves once `change` is durable; rejects as writing it alone would have. */
  run(change: ChannelChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ change, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is waiting or being written (the store is closing). */
  drain(): Promise<void> {
    if (this.waiting.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.concurrency) return;
    if (this.waiting.length === 0) {
      if (this.inFlight === 0) for (const done of this.idle.splice(0)) done();
      return;
    }
    this.scheduled = true;
    // One turn of the loop: the changes of one burst of work (a boot's resumes) join one batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.concurrency && this.waiting.length > 0) void this.write(this.waiting.splice(0, MAX_BATCH));
    });
  }

  private async write(batch: Waiting[]): Promise<void> {
    this.inFlight++;
    try {
      if (batch.length === 1) await this.one(batch[0]!);
      else await this.many(batch);
    } finally {
      this.commits += 1;
      this.inFlight--;
      this.schedule();
    }
  }

  private async many(batch: Waiting[]): Promise<void> {
    try {
      await this.writer.many(batch.map((w) => w.change));
      for (const w of batch) w.resolve();
    } catch (err) {
      if (isStoreFault(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      for (const w of batch) await this.one(w);
    }
  }

  private async one(w: Waiting): Promise<void> {
    try {
      await this.writer.one(w.change);
      w.resolve();
    } catch (err) {
      w.reject(err);
    }
  }
}
