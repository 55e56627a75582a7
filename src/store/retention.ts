import type { Clock, TimerHandle } from '../channel/clock.js';
import type { PruneCounts, Store } from './types.js';

const DAY_MS = 24 * 60 * 60_000;

/** How long rows are kept, in days (WAGATE_RETENTION_*_DAYS). */
export interface RetentionWindows {
  deliveriesDays: number;
  eventsDays: number;
  historyDays: number;
}

export const RETENTION_DEFAULTS: RetentionWindows = { deliveriesDays: 7, eventsDays: 7, historyDays: 90 };

export interface RetentionDeps {
  store: Store;
  clock: Clock;
  windows: RetentionWindows;
  /** Rows per statement: small, so a status change never waits long behind a prune. */
  batch?: number;
  /** Between sweeps. */
  everyMs?: number;
  onError?(err: unknown): void;
}

/** Prunes finished deliveries, events and status history past their windows, a small batch at a time. */
export class Retention {
  private timer: TimerHandle | null = null;
  private running: Promise<PruneCounts> | null = null;
  private stopped = false;
  private readonly batch: number;
  private readonly everyMs: number;

  constructor(private readonly deps: RetentionDeps) {
    this.batch = deps.batch ?? 500;
    this.everyMs = deps.everyMs ?? 10 * 60_000;
  }

  /** Sweeps now, then every `everyMs`. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One sweep: batches until every kind is below a batch; answers how many rows went. */
  sweep(): Promise<PruneCounts> {
    this.running ??= this.prune().finally(() => (this.running = null));
    return this.running;
  }

  private async prune(): Promise<PruneCounts> {
    const total: PruneCounts = { deliveries: 0, events: 0, history: 0 };
    const now = this.deps.clock.now();
    const { deliveriesDays, eventsDays, historyDays } = this.deps.windows;
    const cutoffs = { deliveries: now - deliveriesDays * DAY_MS, events: now - eventsDays * DAY_MS, history: now - historyDays * DAY_MS };
    for (;;) {
      const counts = await this.deps.store.prune(cutoffs, this.batch);
      total.deliveries += counts.deliveries;
      total.events += counts.events;
      total.history += counts.history;
      if (this.stopped || Math.max(counts.deliveries, counts.events, counts.history) < this.batch) break;
      // Between batches, let status changes and deliveries through.
      await new Promise<void>((r) => setImmediate(r));
    }
    if (!this.stopped) await this.deps.store.reclaim?.(total);
    return total;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.sweep()
        .catch((err: unknown) => this.deps.onError?.(err))
        .finally(() => this.schedule(this.everyMs));
    }, ms);
  }
}
