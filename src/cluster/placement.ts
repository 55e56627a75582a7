import type { Placement } from '../store/cluster.js';

export interface PlacementPassesDeps {
  /** One placement transaction: the orphans of the moment, the channels in `first` before them. */
  place(first: string[]): Promise<Placement>;
  /** Runs the channels a pass gave this node; answers each one's adoption (never rejects). */
  adopt(placement: Placement): Map<string, Promise<void>>;
  /** How long a pass waits for more requests to share it (ms). */
  windowMs: number;
  /** A new channel whose passes keep failing is given up on after this long (ms): its creation fails. */
  waitMs: number;
  /** After a failed pass, the next one for the channels still waiting comes this much later (ms). */
  retryMs: number;
}

/** A promise with its settling functions at hand. */
interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let settle!: Pick<Deferred, 'resolve' | 'reject'>;
  const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, ...settle };
}

type Waiter = Deferred & { deadline: number };
type Pass = Deferred;

/**
 * A node's placement passes, one at a time. Channels created here meanwhile join the next pass,
 * so concurrent creations share one transaction instead of each queuing for the node's small
 * lease pool (where 32 of them could wait past its timeout). A new channel's caller resolves once
 * the channel runs here or was placed elsewhere; a failed pass is tried again for it shortly.
 */
export class PlacementPasses {
  private readonly waiting = new Map<string, Waiter>();
  private next: Pass | null = null;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly deps: PlacementPassesDeps) {}

  /** Places a new channel in the next pass; resolves once it runs here (if placed here) or elsewhere. */
  placeNew(channelId: string): Promise<void> {
    const known = this.waiting.get(channelId);
    if (known) return known.promise;
    const waiter = { ...deferred(), deadline: Date.now() + this.deps.waitMs };
    this.waiting.set(channelId, waiter);
    void this.request();
    return waiter.promise;
  }

  /** A pass (shared with whatever else asks meanwhile); rejects if it failed. */
  request(): Promise<void> {
    if (!this.next) {
      this.next = deferred();
      // A pass nobody awaits (a retry) must not end the process when it fails.
      this.next.promise.catch(() => undefined);
      this.kick(this.deps.windowMs);
    }
    return this.next.promise;
  }

  /** No further passes; the waiting creations fail. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const [id, w] of this.waiting) w.reject(new Error(`channel ${id} was not placed: the node is leaving`));
    this.waiting.clear();
    this.next?.reject(new Error('the node is leaving'));
    this.next = null;
  }

  private kick(delayMs: number): void {
    if (this.running || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, delayMs);
  }

  private async run(): Promise<void> {
    const pass = this.next;
    if (this.running || !pass) return;
    this.next = null;
    this.running = true;
    const ids = [...this.waiting.keys()];
    let failed = false;
    try {
      const adoptions = this.deps.adopt(await this.deps.place(ids));
      // Placed here (and running), placed elsewhere, or taken by another node's pass first.
      for (const id of ids) this.settle(id, adoptions.get(id) ?? Promise.resolve());
      pass.resolve();
    } catch (err) {
      failed = true;
      const now = Date.now();
      for (const id of ids) {
        const w = this.waiting.get(id);
        if (w && now >= w.deadline) {
          this.waiting.delete(id);
          w.reject(err);
        }
      }
      pass.reject(err);
      if (this.waiting.size > 0) void this.request();
    } finally {
      this.running = false;
      if (this.next) this.kick(failed ? this.deps.retryMs : this.deps.windowMs);
    }
  }

  private settle(id: string, adoption: Promise<void>): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    void adoption.then(w.resolve, w.reject);
  }
}
