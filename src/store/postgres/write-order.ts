/**
 * Orders the writes that add deliveries, as handing them to a watcher needs. Changes run side
 * by side (one channel's changes already go one at a time, through its journal); a replay runs
 * alone, after every change in flight and before any that starts later. So each queue's rows
 * reach the watcher in id order, though their transactions commit on different connections.
 */
export class WriteOrder {
  private readonly running = new Set<Promise<unknown>>();
  private alone: Promise<unknown> | null = null;

  /** Runs `write` beside other shared writes, never beside an exclusive one. */
  async shared<T>(write: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone.catch(() => undefined);
    const run = write();
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
    }
  }

  /** Runs `write` once every write in flight has settled, and before any later one starts. */
  async exclusive<T>(write: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone.catch(() => undefined);
    const run = (async () => {
      await Promise.allSettled([...this.running]);
      return write();
    })();
    this.alone = run;
    try {
      return await run;
    } finally {
      if (this.alone === run) this.alone = null;
    }
  }
}
