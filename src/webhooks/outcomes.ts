import type { AttemptResult, Store } from '../store/types.js';

interface Waiting {
  id: number;
  result: AttemptResult;
  done: () => void;
  failed: (err: unknown) => void;
}

/**
 * Group commit for attempt outcomes: every outcome recorded while a commit is being written
 * joins the next one, so a busy dispatcher writes one transaction for many outcomes and an idle
 * one still writes each outcome at once. `record` answers only once the outcome is durable.
 */
export class OutcomeWriter {
  private waiting: Waiting[] = [];
  private writing: Promise<void> | null = null;
  /** Outcomes handed straight to a store that groups its writes, until written. */
  private readonly direct = new Set<Promise<void>>();
  /** Transactions written (for the benchmarks' statements per delivery). */
  commits = 0;

  constructor(private readonly store: Store) {}

  /** Records one outcome; resolves once its batch has committed, rejects if that batch failed. */
  record(id: number, result: AttemptResult): Promise<void> {
    if (this.store.groupsWrites) {
      // The store batches what arrives in one turn itself (SQLite's group commit): waiting a
      // turn here as well would only add one to every outcome.
      const written = this.store.recordAttempts([{ id, result }]);
      this.direct.add(written);
      const settle = () => this.direct.delete(written);
      written.then(settle, settle);
      return written;
    }
    return new Promise<void>((done, failed) => {
      this.waiting.push({ id, result, done, failed });
      this.writing ??= this.drain();
    });
  }

  /** Waits until every outcome recorded so far is written (or failed). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
    await Promise.allSettled([...this.direct]);
  }

  private async drain(): Promise<void> {
    // Let the outcomes of attempts ending in this same turn join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        await this.store.recordAttempts(batch.map(({ id, result }) => ({ id, result })));
        this.commits += 1;
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.failed(err);
      }
    }
    this.writing = null;
  }
}
