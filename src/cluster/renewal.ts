import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** What a node knows of a renewal that is overdue, for its warning. */
export interface OverdueRenewal {
  /** Since the last successful renewal was sent. */
  sinceRenewalMs: number;
  /** Renewals that failed since then, and the last one's error. */
  failures: number;
  lastError: string | null;
  /** The renewal still awaiting its answer, and for how long (null: none in flight). */
  inFlightMs: number | null;
  /** The longest stall of this process' event loop since the last successful renewal. */
  loopDelayMaxMs: number;
}

export interface LeaseRenewalDeps {
  /** The heartbeat and every lease of the node, in one statement (on its own connection). */
  renew(): Promise<number>;
  renewMs: number;
  fenceMs: number;
  /** No renewal sent in the last fenceMs has succeeded: the node must halt its engines now. */
  onOverdue(overdue: OverdueRenewal): void;
  /** A renewal was answered late or failed (for the log). */
  onTrouble(fields: Record<string, unknown>, msg: string): void;
}

/**
 * A node's lease renewal, on a timer of its own that nothing else awaits or queues behind:
 * every `renewMs` (sooner after a failure) one statement renews the heartbeat and every lease.
 * Self-fencing is timed from when the last successful renewal was *sent*: the leases it renewed
 * outlive that moment by the TTL, and the node halts its engines `fenceMs` after it.
 */
export class LeaseRenewal {
  /** When the last successful renewal was sent (performance.now()). */
  private lastOkSentAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private fenceTimer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: { sentAt: number; done: Promise<void> } | null = null;
  private failures = 0;
  private lastError: string | null = null;
  private stopped = true;
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });

  constructor(private readonly deps: LeaseRenewalDeps) {}

  /** Renews once (throws if that fails), then keeps renewing until stop(). */
  async start(): Promise<void> {
    this.loopDelay.enable();
    this.stopped = false;
    if (!(await this.renewNow())) throw new Error(`the first lease renewal failed: ${this.lastError ?? 'unknown error'}`);
    this.schedule(this.lastOkSentAt + this.deps.renewMs);
  }

  /** Stops renewing (and self-fencing); resolves once a renewal in flight is answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.loopDelay.disable();
    await this.inFlight?.done;
  }

  /** No renewal sent within the last fenceMs has succeeded (the node's engines must not run). */
  get overdue(): boolean {
    return performance.now() - this.lastOkSentAt >= this.deps.fenceMs;
  }

  /** Next renewal at `at` (performance.now() time), or at once if that has passed. */
  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const late = performance.now() - at;
      void this.renewNow(late).then((ok) => this.schedule(ok ? this.lastOkSentAt + this.deps.renewMs : performance.now() + this.retryMs()));
    }, Math.max(0, Math.ceil(at - performance.now())));
  }

  /** After a failure the next try comes sooner: several fit before the self-fence. */
  private retryMs(): number {
    return Math.max(50, Math.min(this.deps.renewMs, (this.deps.fenceMs - this.deps.renewMs) / 4));
  }

  /** One renewal; answers whether it succeeded. Never rejects. */
  private async renewNow(lateMs = 0): Promise<boolean> {
    const sentAt = performance.now();
    let ok = false;
    const done = this.deps.renew().then(
      () => {
        ok = true;
      },
      (err: unknown) => {
        this.failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
      },
    );
    this.inFlight = { sentAt, done };
    await done;
    this.inFlight = null;
    const tookMs = Math.round(performance.now() - sentAt);
    if (!ok) {
      this.deps.onTrouble({ took_ms: tookMs, late_ms: Math.round(lateMs), failures: this.failures, err: this.lastError }, 'lease renewal failed');
      return false;
    }
    // Late by a third of the interval, or slow to answer: the margin before the self-fence shrinks.
    if (lateMs > this.deps.renewMs / 3 || tookMs > this.deps.renewMs / 3) {
      this.deps.onTrouble({ took_ms: tookMs, late_ms: Math.round(lateMs), loop_delay_max_ms: this.loopDelayMaxMs() }, 'lease renewal late');
    }
    this.renewed(sentAt);
    return true;
  }

  /** A renewal sent at `sentAt` succeeded: every lease now outlives sentAt + TTL; fence before that. */
  private renewed(sentAt: number): void {
    if (sentAt < this.lastOkSentAt) return;
    this.lastOkSentAt = sentAt;
    this.failures = 0;
    this.lastError = null;
    this.loopDelay.reset();
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    if (this.stopped) return;
    this.fenceTimer = setTimeout(() => this.fence(), Math.max(0, Math.ceil(sentAt + this.deps.fenceMs - performance.now())));
  }

  private fence(): void {
    this.fenceTimer = null;
    if (this.stopped) return;
    const now = performance.now();
    this.deps.onOverdue({
      sinceRenewalMs: Math.round(now - this.lastOkSentAt),
      failures: this.failures,
      lastError: this.lastError,
      inFlightMs: this.inFlight ? Math.round(now - this.inFlight.sentAt) : null,
      loopDelayMaxMs: this.loopDelayMaxMs(),
    });
  }

  private loopDelayMaxMs(): number {
    return Math.round(this.loopDelay.max / 1e6);
  }
}
