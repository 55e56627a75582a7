import type { Clock, TimerHandle } from '../channel/clock.js';
import { splitEventName, type Alert } from '../protocol/events.js';
import { UNORDERED_PER_QUEUE } from '../store/rows.js';
import type { DeliveryTarget, DueDelivery, Store } from '../store/types.js';
import { isExpired, planRetry } from './policy.js';
import type { DeliveryResult, Sender } from './sender.js';

/** After this many failed attempts of one delivery, the channel hears that its webhook fails. */
export const FAILING_ALERT_AFTER = 5;
/** One `webhook_failing` alert per queue in this window, however many deliveries fail. */
const FAILING_ALERT_QUIET_MS = 10 * 60_000;

export interface DispatcherDeps {
  store: Store;
  clock: Clock;
  sender: Sender;
  /** Raises an alert on a channel (through its outbox). */
  alert(channelId: string, alert: Alert): Promise<void>;
  /** The receiver answered 410 Gone: mark the webhook disabled in the channel's settings. */
  disableWebhook(channelId: string, url: string, mode: string): Promise<void>;
  /**
   * The delivery's webhook as the channel's settings have it now (headers, secret, retry
   * settings), or why the delivery is cancelled instead (its webhook left the settings).
   * Without it, every delivery goes to the target it was written with.
   */
  route?(delivery: DueDelivery): DeliveryTarget | { cancelled: string };
  /** Observes every attempt (metrics). */
  observe?(delivery: DueDelivery, result: DeliveryResult, outcome: 'delivered' | 'retry' | 'failed'): void;
  /** Attempts in flight at once, across all queues. */
  concurrency?: number;
  /** Attempts in flight at once for one channel (default: a quarter of `concurrency`). */
  perChannel?: number;
  /** The longest the dispatcher sleeps before looking at the outbox again. */
  idleMs?: number;
  onError?(err: unknown): void;
}

/** The webhook-id of a delivery: the event's, so a receiver can dedupe retries and replays. */
export function webhookId(delivery: { eventSeq: number }): string {
  return `msg_${delivery.eventSeq}`;
}

/**
 * Sends what the outbox holds. Each queue (one channel's deliveries to one webhook) has at most
 * one attempt in flight when ordered, so a slow or dead receiver holds back only its own queue.
 * Every outcome is written before the next delivery of that queue is read.
 */
export class Dispatcher {
  private inFlight = new Map<number, Promise<void>>();
  /** Attempts in flight per queue. */
  private busyQueues = new Map<string, number>();
  /** Attempts in flight per channel: a channel whose receivers hang holds only its share. */
  private busyChannels = new Map<string, number>();
  private pumping = false;
  private again = false;
  private stopped = false;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private lastFailingAlert = new Map<string, number>();
  /** Channels with a webhook_failing alert and no delivery since (the fleet view's flag). */
  private readonly failingChannels = new Set<string>();

  /** Whether a webhook of the channel is failing: alerted, and nothing delivered since. */
  isFailing(channelId: string): boolean {
    return this.failingChannels.has(channelId);
  }
  /**
   * Deliveries whose attempt ended while a due query was out: that query may still list them as
   * pending (it read before their outcome was written), and they must not be launched again.
   */
  private endedDuringRead: Set<number> | null = null;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly perChannel: number;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 64;
    this.perChannel = deps.perChannel ?? Math.max(UNORDERED_PER_QUEUE, Math.floor(this.concurrency / 4));
    this.idleMs = deps.idleMs ?? 5_000;
  }

  /** Starts sending; pending deliveries left by an earlier run go first. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks at the outbox again soon (new events were committed, or an attempt ended). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** Stops taking new deliveries and waits for the attempts in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Deliveries in flight now. */
  get active(): number {
    return this.inFlight.size;
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        const free = this.concurrency - this.inFlight.size;
        if (free <= 0) break;
        const ended = new Set<number>();
        this.endedDuringRead = ended;
        let due: DueDelivery[];
        try {
          due = await this.deps.store.dueDeliveries(this.deps.clock.now(), 2 * this.concurrency);
        } finally {
          // Only here, once this pump runs again: an attempt can end between the query's
          // answer and this continuation, and must be counted as ended during the read.
          this.endedDuringRead = null;
        }
        for (const delivery of due) {
          if (this.inFlight.size >= this.concurrency) break;
          if (this.inFlight.has(delivery.id) || ended.has(delivery.id)) continue;
          const busy = this.busyQueues.get(delivery.queueKey) ?? 0;
          if (busy >= (delivery.target.ordered ? 1 : UNORDERED_PER_QUEUE)) continue;
          if ((this.busyChannels.get(delivery.channelId) ?? 0) >= this.perChannel) continue;
          this.launch(delivery);
        }
      } while (this.again);
      await this.sleepUntilDue();
    } catch (err) {
      this.deps.onError?.(err);
      this.wakeAt(this.deps.clock.now() + this.idleMs);
    } finally {
      this.pumping = false;
      if (this.again) this.wake();
    }
  }

  private async sleepUntilDue(): Promise<void> {
    // Each attempt in flight wakes the pump when it ends, and every retry this process schedules
    // has its own wake-up: the store needs asking only when nothing is in flight.
    if (this.inFlight.size > 0) return;
    const now = this.deps.clock.now();
    const next = await this.deps.store.nextDeliveryDue();
    // A due time in the past means its queue is busy: the attempt in flight wakes the pump when
    // it ends. Retries this process scheduled have their own wake-ups (see attempt), so the idle
    // look is only a safety net.
    const at = next === null || next <= now ? now + this.idleMs : Math.min(next, now + this.idleMs);
    this.wakeAt(Math.max(at, now + 10));
  }

  /** Makes sure the pump runs again by `at` (keeps an earlier wake-up). */
  private wakeAt(at: number): void {
    if (this.stopped) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(0, at - this.deps.clock.now()));
  }

  private launch(delivery: DueDelivery): void {
    count(this.busyQueues, delivery.queueKey, 1);
    count(this.busyChannels, delivery.channelId, 1);
    const run = this.attempt(delivery)
      .catch((err: unknown) => this.deps.onError?.(err))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.endedDuringRead?.add(delivery.id);
        count(this.busyQueues, delivery.queueKey, -1);
        count(this.busyChannels, delivery.channelId, -1);
        this.wake();
      });
    this.inFlight.set(delivery.id, run);
  }

  /** One attempt of one delivery, and its outcome written to the store. */
  private async attempt(due: DueDelivery): Promise<void> {
    const { store, clock, sender } = this.deps;
    const routed = this.deps.route?.(due) ?? due.target;
    if ('cancelled' in routed) {
      await store.cancelDeliveries({ channelId: due.channelId, id: due.id }, routed.cancelled, clock.now());
      return;
    }
    const d: DueDelivery = routed === due.target ? due : { ...due, target: routed };
    if (isExpired(d.createdAt, clock.now(), d.target.maxAgeSeconds)) {
      await this.giveUp(d, `gave up: older than webhook_max_age_seconds (${d.target.maxAgeSeconds} s)`, null);
      return;
    }
    const { type, method } = splitEventName(d.eventName);
    const result = await sender.send({
      url: d.target.url,
      mode: d.target.mode,
      eventType: type,
      method,
      headers: d.target.headers,
      body: d.body,
      webhookId: webhookId(d),
      timestampSeconds: Math.floor(clock.now() / 1000),
      secret: d.target.secret ?? undefined,
    });
    const now = clock.now();
    const lastStatus = result.status ?? null;
    if (result.ok) {
      await store.recordAttempt(d.id, { status: 'delivered', nextAttemptAt: now, at: now, lastStatus, lastError: null });
      this.failingChannels.delete(d.channelId);
      this.deps.observe?.(d, result, 'delivered');
      return;
    }
    const error = result.error ?? `HTTP ${lastStatus}`;
    if (result.gone) {
      const reason = `${error}: the receiver asked to stop; webhook disabled`;
      await store.recordAttempt(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason });
      await store.failQueue(d.queueKey, reason, now);
      await this.deps.disableWebhook(d.channelId, d.target.url, d.target.mode);
      await this.deps.alert(d.channelId, { kind: 'webhook_disabled', detail: `${d.target.url} answered 410 Gone`, at: Math.floor(now / 1000), webhook: d.target.url });
      this.deps.observe?.(d, result, 'failed');
      return;
    }
    const attempts = d.attempts + 1;
    const plan = planRetry({
      attempt: attempts,
      backoffDelayMs: d.target.backoffDelayMs,
      maxBackoffDelayMs: d.target.maxBackoffDelayMs,
      retryAfterMs: result.retryAfterMs,
      createdAt: d.createdAt,
      now,
      maxAgeSeconds: d.target.maxAgeSeconds,
    });
    if (plan.kind === 'give_up') {
      await this.giveUp(d, `${error}; gave up: ${plan.reason}`, lastStatus);
      this.deps.observe?.(d, result, 'failed');
      return;
    }
    await store.recordAttempt(d.id, { status: 'pending', nextAttemptAt: plan.at, at: now, lastStatus, lastError: error });
    this.wakeAt(plan.at);
    this.deps.observe?.(d, result, 'retry');
    if (attempts === FAILING_ALERT_AFTER) {
      await this.failing(d, `${attempts} attempts failed (last: ${error}); retrying until webhook_max_age_seconds`);
    }
  }

  /** Raises `webhook_failing` for a queue, at most once per quiet window. */
  private async failing(d: DueDelivery, detail: string): Promise<void> {
    const now = this.deps.clock.now();
    const last = this.lastFailingAlert.get(d.queueKey);
    if (last !== undefined && now - last < FAILING_ALERT_QUIET_MS) return;
    this.lastFailingAlert.set(d.queueKey, now);
    this.failingChannels.add(d.channelId);
    await this.deps.alert(d.channelId, { kind: 'webhook_failing', detail: `${d.target.url}: ${detail}`, at: Math.floor(now / 1000), webhook: d.target.url });
  }

  private async giveUp(d: DueDelivery, reason: string, lastStatus: number | null): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.recordAttempt(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason });
    await this.failing(d, `delivery ${d.id} failed for good (${reason}); replay it from /webhooks/deliveries`);
  }
}

/** Adds `delta` to a counter, dropping it at zero so the map holds only busy keys. */
function count(counters: Map<string, number>, key: string, delta: number): void {
  const n = (counters.get(key) ?? 0) + delta;
  if (n > 0) counters.set(key, n);
  else counters.delete(key);
}
