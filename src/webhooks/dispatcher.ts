import type { Clock, TimerHandle } from '../channel/clock.js';
import { splitEventName, type Alert } from '@wagate/protocol';
import { UNORDERED_PER_QUEUE } from '../store/rows.js';
import type { AttemptResult, DeliveryTarget, DueDelivery, Store } from '../store/types.js';
import { isExpired, planRetry } from './policy.js';
import { OutcomeWriter } from './outcomes.js';
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

/** Rows claimed ahead per ordered queue: they go one after another with no read in between. */
export const PREFETCH_PER_QUEUE = 32;

/** What a queue does after an attempt: go on with its next claimed row, or let the store decide again. */
type Next = 'next' | 'release';

/** A queue this dispatcher holds: rows it claimed and attempts it has in flight. */
interface HeldQueue {
  key: string;
  channelId: string;
  ordered: boolean;
  /** Claimed rows not yet launched, in id order. */
  rows: DueDelivery[];
  inFlight: number;
}

/**
 * Sends what the outbox holds. It claims due deliveries in batches (each ordered queue's head
 * and the rows behind it) and holds those queues in memory until they are done: an ordered
 * queue has one attempt in flight and goes on with its next row only once the outcome of the
 * last is committed, so a slow or dead receiver holds back only its own queue. Outcomes are
 * group-committed (OutcomeWriter); a queue is released (and read again) once its rows are done
 * or its head must wait for a retry.
 */
export class Dispatcher {
  private inFlight = new Map<number, Promise<void>>();
  private held = new Map<string, HeldQueue>();
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
   * Queues released while a claim was out: that claim may still list their rows as they were
   * before the outcomes just committed, so its rows of these queues are dropped.
   */
  private releasedDuringRead: Set<string> | null = null;
  /** Deliveries whose attempt ended while a claim was out (unordered queues stay held meanwhile). */
  private endedDuringRead: Set<number> | null = null;
  private truncated = false;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly perChannel: number;
  /** Batches the outcomes of attempts into shared commits. */
  readonly outcomes: OutcomeWriter;
  /** Claims made (for the benchmarks' statements per delivery). */
  claims = 0;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 64;
    this.perChannel = deps.perChannel ?? Math.max(UNORDERED_PER_QUEUE, Math.floor(this.concurrency / 4));
    this.idleMs = deps.idleMs ?? 5_000;
    this.outcomes = new OutcomeWriter(deps.store);
  }

  /** Starts sending; pending deliveries left by an earlier run go first. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks at the outbox again soon (new events were committed, or a queue was released). */
  wake(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** Stops taking new deliveries and waits for the attempts in flight and their outcomes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight.values()]);
    await this.outcomes.flushed();
  }

  /** Deliveries in flight now (an attempt counts until its outcome is committed). */
  get active(): number {
    return this.inFlight.size;
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        if (this.inFlight.size >= this.concurrency) break;
        const released = new Set<string>();
        const ended = new Set<number>();
        this.releasedDuringRead = released;
        this.endedDuringRead = ended;
        // Ordered queues held are left out; an unordered one may gain rows while it sends.
        const heldOrdered = [...this.held.values()].filter((q) => q.ordered).map((q) => q.key);
        let due: DueDelivery[];
        try {
          this.claims += 1;
          due = await this.deps.store.claimDeliveries(this.deps.clock.now(), 2 * this.concurrency, PREFETCH_PER_QUEUE, heldOrdered);
        } finally {
          // Only here, once this pump runs again: a queue can be released (an attempt can end)
          // between the claim's answer and this continuation, and must count as during the read.
          this.releasedDuringRead = null;
          this.endedDuringRead = null;
        }
        // A full answer may have left due rows unread: free slots must ask again.
        this.truncated = due.length >= 2 * this.concurrency;
        this.take(due, released, ended);
        this.fill();
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

  /** Holds the claimed rows of every queue this dispatcher did not hold already. */
  private take(due: DueDelivery[], released: Set<string>, ended: Set<number>): void {
    const fresh = new Set<string>();
    for (const row of due) {
      const key = row.queueKey;
      if (released.has(key) || ended.has(row.id) || this.inFlight.has(row.id)) continue;
      const known = this.held.get(key);
      if (known && !fresh.has(key) && (known.ordered || known.rows.some((r) => r.id === row.id))) continue;
      let queue = known;
      if (!queue) {
        queue = { key, channelId: row.channelId, ordered: row.target.ordered, rows: [], inFlight: 0 };
        this.held.set(key, queue);
        fresh.add(key);
      }
      queue.rows.push(row);
    }
  }

  /** Launches what the held queues may send now, within the global and per-channel caps. */
  private fill(): void {
    const now = this.deps.clock.now();
    for (const queue of this.held.values()) {
      if (this.inFlight.size >= this.concurrency) return;
      while (queue.rows.length > 0 && queue.inFlight < (queue.ordered ? 1 : UNORDERED_PER_QUEUE)) {
        if (this.inFlight.size >= this.concurrency || (this.busyChannels.get(queue.channelId) ?? 0) >= this.perChannel) break;
        const row = queue.rows[0]!;
        if (row.nextAttemptAt > now) {
          // Not due after all (it waits for a retry): the store answers again when it is.
          this.wakeAt(row.nextAttemptAt);
          this.release(queue, true);
          break;
        }
        queue.rows.shift();
        this.launch(queue, row);
      }
    }
  }

  /** Drops a queue's claimed rows; once nothing of it is in flight, lets the store answer for it again. */
  private release(queue: HeldQueue, dropRows: boolean): void {
    if (dropRows) queue.rows = [];
    if (queue.rows.length > 0 || queue.inFlight > 0) return;
    this.held.delete(queue.key);
    this.releasedDuringRead?.add(queue.key);
    this.wake();
  }

  private async sleepUntilDue(): Promise<void> {
    // Each queue held wakes the pump when it is released, and every retry this process
    // schedules has its own wake-up: the store needs asking only when nothing is held.
    if (this.inFlight.size > 0 || this.held.size > 0) return;
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

  private launch(queue: HeldQueue, delivery: DueDelivery): void {
    queue.inFlight += 1;
    count(this.busyChannels, delivery.channelId, 1);
    const run = this.attempt(delivery)
      .catch((err: unknown): Next => {
        this.deps.onError?.(err);
        return 'release';
      })
      .then((next) => {
        this.inFlight.delete(delivery.id);
        this.endedDuringRead?.add(delivery.id);
        queue.inFlight -= 1;
        count(this.busyChannels, delivery.channelId, -1);
        this.release(queue, next === 'release' || this.stopped);
        if (this.stopped) return;
        this.fill();
        // A free slot, and the last claim could not answer everything due: ask again.
        if (this.truncated && this.inFlight.size < this.concurrency) this.wake();
      });
    this.inFlight.set(delivery.id, run);
  }

  /** One attempt of one delivery, and its outcome committed; answers what its queue does next. */
  private async attempt(due: DueDelivery): Promise<Next> {
    const { store, clock, sender } = this.deps;
    const routed = this.deps.route?.(due) ?? due.target;
    if ('cancelled' in routed) {
      await store.cancelDeliveries({ channelId: due.channelId, id: due.id }, routed.cancelled, clock.now());
      return 'next';
    }
    const d: DueDelivery = routed === due.target ? due : { ...due, target: routed };
    if (isExpired(d.createdAt, clock.now(), d.target.maxAgeSeconds)) {
      await this.giveUp(d, `gave up: older than webhook_max_age_seconds (${d.target.maxAgeSeconds} s)`, null);
      return 'next';
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
    // What the attempt's row keeps of the answer, whatever the outcome.
    const answered = { durationMs: result.durationMs, answer: result.answer ?? null };
    if (result.ok) {
      await this.outcomes.record(d.id, { status: 'delivered', nextAttemptAt: now, at: now, lastStatus, lastError: null, ...answered });
      this.failingChannels.delete(d.channelId);
      this.deps.observe?.(d, result, 'delivered');
      return 'next';
    }
    const error = result.error ?? `HTTP ${lastStatus}`;
    if (result.gone) {
      const reason = `${error}: the receiver asked to stop; webhook disabled`;
      await this.outcomes.record(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason, ...answered });
      await store.failQueue(d.queueKey, reason, now);
      await this.deps.disableWebhook(d.channelId, d.target.url, d.target.mode);
      await this.deps.alert(d.channelId, { kind: 'webhook_disabled', detail: `${d.target.url} answered 410 Gone`, at: Math.floor(now / 1000), webhook: d.target.url });
      this.deps.observe?.(d, result, 'failed');
      return 'release';
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
      await this.giveUp(d, `${error}; gave up: ${plan.reason}`, lastStatus, answered);
      this.deps.observe?.(d, result, 'failed');
      return 'next';
    }
    await this.outcomes.record(d.id, { status: 'pending', nextAttemptAt: plan.at, at: now, lastStatus, lastError: error, ...answered });
    this.wakeAt(plan.at);
    this.deps.observe?.(d, result, 'retry');
    if (attempts === FAILING_ALERT_AFTER) {
      await this.failing(d, `${attempts} attempts failed (last: ${error}); retrying until webhook_max_age_seconds`);
    }
    return 'release';
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

  private async giveUp(d: DueDelivery, reason: string, lastStatus: number | null, answered?: Pick<AttemptResult, 'durationMs' | 'answer'>): Promise<void> {
    const now = this.deps.clock.now();
    await this.outcomes.record(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason, ...answered });
    await this.failing(d, `delivery ${d.id} failed for good (${reason}); replay it from /webhooks/deliveries`);
  }
}

/** Adds `delta` to a counter, dropping it at zero so the map holds only busy keys. */
function count(counters: Map<string, number>, key: string, delta: number): void {
  const n = (counters.get(key) ?? 0) + delta;
  if (n > 0) counters.set(key, n);
  else counters.delete(key);
}
