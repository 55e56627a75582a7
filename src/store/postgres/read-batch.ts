/** At most this many reads per query. */
const MAX_BATCH = 1000;

interface Waiting<Q, A> {
  query: Q;
  resolve: (answer: A) => void;
  reject: (err: unknown) => void;
}

/**
 * Reads of one kind asked for in the same turn of the event loop, answered by one query: a node
 * taking up 10,000 channels at boot read each channel's row, and each engine its credentials, in
 * 20,000 round trips through the pool (a fifth of the boot's CPU was the sockets' writes). Each
 * read is sent after it is asked for, so it sees every write that had committed by then.
 */
export class ReadBatch<Q, A> {
  private waiting: Array<Waiting<Q, A>> = [];
  private scheduled = false;

  /** `readMany` answers the queries in their order. */
  constructor(private readonly readMany: (queries: Q[]) => Promise<A[]>) {}

  read(query: Q): Promise<A> {
    return new Promise<A>((resolve, reject) => {
      this.waiting.push({ query, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.send());
    });
  }

  private send(): void {
    this.scheduled = false;
    const all = this.waiting.splice(0);
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const part = all.slice(i, i + MAX_BATCH);
      this.readMany(part.map((w) => w.query)).then(
        (answers) => part.forEach((w, j) => w.resolve(answers[j]!)),
        (err: unknown) => part.forEach((w) => w.reject(err)),
      );
    }
  }
}
