import type { Clock, TimerHandle } from '../channel/clock.js';
import type { ClaimHolder, Store } from '../store/types.js';

/** How a dispatcher shares the outbox with other nodes' dispatchers (PostgreSQL, several gateways). */
export interface ClaimOptions {
  /** This node's id, as its claims are recorded. */
  node: string;
  /**
   * How long a claim lasts unless renewed: the time a dead node's queues wait before another
   * node takes them. Renewed every third of it; keep it above the webhook timeout, so an
   * attempt still in flight on a node that lost its connection ends before its claim does.
   */
  ttlMs: number;
}

export interface ClaimsDeps extends ClaimOptions {
  store: Store;
  clock: Clock;
  /** The queues this node holds now. */
  held(): string[];
  /** Claims that renewal found gone (expired and taken): stop sending those queues. */
  lost(keys: string[]): void;
  /** A release was written: the store may answer those queues again. */
  released(): void;
  onError?(err: unknown): void;
}

/**
 * A node's claims on delivery queues: taken with each read (the store claims what it answers),
 * renewed while the queues are held, and released once their outcomes are durable. A queue
 * whose release is still being written is not claimed again meanwhile, or the late release
 * would drop the new claim.
 */
export class QueueClaims {
  private readonly releasing = new Set<string>();
  private pending: string[] = [];
  /** The releases being written, until every one asked for is. */
  private flushing: Promise<void> | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private abandoned = false;
  /** When each held queue's claim runs out, as far as this node knows. */
  private readonly until = new Map<string, number>();

  constructor(private readonly deps: ClaimsDeps) {}

  /** The holder to claim for now. */
  holder(): ClaimHolder {
    return { node: this.deps.node, until: this.deps.clock.now() + this.deps.ttlMs };
  }

  /** Notes queues just claimed (their claim lasts until `until`) and keeps renewing. */
  claimed(keys: Iterable<string>, until: number): void {
    for (const key of keys) this.until.set(key, until);
    this.schedule();
  }

  /** Whether this node may launch an attempt of the queue now: its claim is fresh. */
  fresh(key: string): boolean {
    const until = this.until.get(key);
    return until !== undefined && until - this.deps.clock.now() > this.deps.ttlMs / 3;
  }

  /** Keys not to claim now (their release is not written yet). */
  get excluded(): string[] {
    return [...this.releasing];
  }

  /** Lets the queue go, once written. */
  release(key: string): void {
    this.until.delete(key);
    if (this.abandoned) return;
    this.releasing.add(key);
    this.pending.push(key);
    this.flushing ??= this.flush();
  }

  /** Stops renewing; answers once every release asked for is written. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const key of this.deps.held()) this.release(key);
    while (this.flushing) await this.flushing;
  }

  /** Forgets every claim without writing anything (a node that died keeps them until they expire). */
  abandon(): void {
    this.stopped = true;
    this.abandoned = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.until.clear();
  }

  private async flush(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const keys = this.pending;
      this.pending = [];
      try {
        await this.deps.store.releaseDeliveryClaims(this.deps.node, keys);
      } catch (err) {
        // Unwritten, the claims simply expire.
        this.deps.onError?.(err);
      }
      for (const key of keys) this.releasing.delete(key);
    }
    this.flushing = null;
    this.deps.released();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      void this.renew();
    }, this.deps.ttlMs / 3);
  }

  private async renew(): Promise<void> {
    const keys = this.deps.held();
    if (keys.length === 0 || this.stopped) return;
    const until = this.deps.clock.now() + this.deps.ttlMs;
    try {
      const kept = new Set(await this.deps.store.renewDeliveryClaims(this.deps.node, keys, until));
      if (this.stopped) return;
      const lost = keys.filter((k) => !kept.has(k));
      for (const key of kept) if (this.until.has(key)) this.until.set(key, until);
      for (const key of lost) this.until.delete(key);
      if (lost.length > 0) this.deps.lost(lost);
    } catch (err) {
      // Not renewed: the claims run out on their own, and `fresh` stops new attempts first.
      this.deps.onError?.(err);
    }
    this.schedule();
  }
}
