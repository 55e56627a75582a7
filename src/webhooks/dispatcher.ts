import type { Clock, TimerHandle } from '../channel/clock.js';
import { splitEventName, type Alert } from '@wagate/protocol';
import { UNORDERED_PER_QUEUE } from '../store/rows.js';
import type { AttemptResult, DeliveryTarget, DueDelivery, Store } from '../store/types.js';
import { isExpired, planRetry } from './policy.js';
import { QueueClaims, type ClaimOptions } from './claims.js';
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
  /** Share the outbox with other nodes: send only the queues claimed for this node. */
  claims?: ClaimOptions;
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
/** A queue with nothing to send is kept this long, so the next event it gets needs no read. */
export const IDLE_QUEUE_MS = 5_000;

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
  /**
   * The rows held (and in flight) are every pending row of the queue: a row the store hands
   * over as committed can go straight on. Otherwise only a prefix is held, and the store is
   * asked again once it is sent.
   */
  complete: boolean;
  /** The highest id held so far: a handed-over row at or below it is already known. */
  maxId: number;
  /** Since when the queue has had nothing to send (NaN while it has). */
  idleSince: number;
}

/**
 * Sends what the outbox holds. Deliveries reach it two ways: handed over by the store as they
 * are committed (so a steady flow reads nothing back), and claimed in batches from the store
 * for what it does not hold (at start, after a crash, behind a long backlog, retries coming
 * due). It holds each queue in memory: an ordered queue has one attempt in flight and goes on
 * with its next row only once the outcome of the last is committed, so a slow or dead receiver
 * holds back only its own queue. Outcomes are group-committed (OutcomeWriter). With `claims`,
 * several nodes' dispatchers share one outbox: each sends only queues it holds a live claim on.
 */
export class Dispatcher {
  private inFlight = new Map<number, Promise<void>>();
  private held = new Map<string, HeldQueue>();
  /** Held queues with rows not launched yet (what `fill` looks at). */
  private ready = new Set<HeldQueue>();
  /** Attempts in flight per channel: a channel whose receivers hang holds only its share. */
  private busyChannels = new Map<string, number>();
  private pumping = false;
  private again = false;
  /** The store must be scanned for due queues (not only for the queues in `wanted`). */
  private scan = true;
  /** Queues the store handed rows of that this dispatcher does not hold: read them. */
  private wanted = new Set<string>();
  private started = false;
  private stopped = false;
  private unwatch: (() => void) | null = null;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private sweepTimer: TimerHandle | null = null;
  private lastFailingAlert = new Map<string, number>();
  /** Channels with a webhook_failing alert and no delivery since (the fleet view's flag). */
  private readonly failingChannels = new Set<string>();

  /** Whether a webhook of the channel is failing: alerted, and nothing delivered since. */
  isFailing(channelId: string): boolean {
    return this.failingChannels.has(channelId);
  }
  /**
   * Queues released while a read was out: that read may still list their rows as they were
   * before the outcomes just committed, so its rows of these queues are dropped.
   */
  private releasedDuringRead: Set<string> | null = null;
  /** Deliveries whose attempt ended while a read was out. */
  private endedDuringRead: Set<number> | null = null;
  /** Rows handed over while a read was out, for queues not held: looked at once it answers. */
  private handedDuringRead: DueDelivery[] | null = null;
  private truncated = false;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly perChannel: number;
  private readonly claims: QueueClaims | null;
  /** Batches the outcomes of attempts into shared commits. */
  readonly outcomes: OutcomeWriter;
  /** Claims made (for the benchmarks' statements per delivery). */
  claimsMade = 0;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 64;
    this.perChannel = deps.perChannel ?? Math.max(UNORDERED_PER_QUEUE, Math.floor(this.concurrency / 4));
    this.idleMs = deps.idleMs ?? 5_000;
    this.outcomes = new OutcomeWriter(deps.store);
    this.claims = deps.claims
      ? new QueueClaims({
          ...deps.claims,
          store: deps.store,
          clock: deps.clock,
          held: () => [...this.held.keys()],
          lost: (keys) => {
            for (const key of keys) {
              const queue = this.held.get(key);
              if (queue) this.release(queue, true);
            }
          },
          released: () => this.wake(),
          onError: deps.onError,
        })
      : null;
  }

  /** Starts sending; pending deliveries left by an earlier run go first. */
  start(): void {
    this.stopped = false;
    this.started = true;
    this.unwatch ??= this.deps.store.watchDeliveries?.((rows) => this.handOver(rows)) ?? null;
    this.wake();
  }

  /** Looks at the outbox again soon (a replay, a cancellation, or anything the store did not hand over). */
  wake(): void {
    this.scan = true;
    this.kick();
  }

  /** A change was committed: the store hands its deliveries over, or the outbox is read again. */
  committed(): void {
    if (!this.unwatch) this.wake();
  }

  /** Stops taking new deliveries and waits for the attempts in flight and their outcomes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = null;
    this.clearTimers();
    await Promise.allSettled([...this.inFlight.values()]);
    await this.outcomes.flushed();
    await this.claims?.stop();
    this.held.clear();
    this.ready.clear();
  }

  /**
   * Stops at once as a process that dies would: nothing more is sent, read or written, and
   * the claims this node holds are left to expire (tests of another node taking over).
   */
  abandon(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = null;
    this.clearTimers();
    this.claims?.abandon();
  }

  /** Deliveries in flight now (an attempt counts until its outcome is committed). */
  get active(): number {
    return this.inFlight.size;
  }

  private clearTimers(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    if (this.sweepTimer) this.deps.clock.clearTimeout(this.sweepTimer);
    this.timer = null;
    this.sweepTimer = null;
    this.timerAt = Infinity;
  }

  private kick(): void {
    if (this.stopped || !this.started) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  /** Rows the store just committed: onto their queue when it is held whole, else that queue is read. */
  private handOver(rows: DueDelivery[]): void {
    if (this.stopped) return;
    let added = false;
    for (const row of rows) {
      const queue = this.held.get(row.queueKey);
      if (queue?.complete) {
        if (row.id <= queue.maxId) continue;
        queue.rows.push(row);
        queue.maxId = row.id;
        queue.idleSince = NaN;
        this.ready.add(queue);
        added = true;
      } else if (!queue) {
        if (this.handedDuringRead) this.handedDuringRead.push(row);
        else this.wanted.add(row.queueKey);
      }
      // A queue held in part is read again once its prefix is sent.
    }
    if (added) this.fill();
    if (this.wanted.size > 0) this.kick();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        if (this.wanted.size > 0) await this.read('wanted');
        if (this.scan && this.inFlight.size < this.concurrency) {
          this.scan = false;
          await this.read('scan');
        }
        this.fill();
      } while (this.again && !this.stopped);
      await this.sleepUntilDue();
    } catch (err) {
      this.deps.onError?.(err);
      this.wakeAt(this.deps.clock.now() + this.idleMs);
    } finally {
      this.pumping = false;
      if (this.again) this.kick();
    }
  }

  /** Reads the queues in `wanted`, or scans for due ones, and holds what the store answers. */
  private async read(kind: 'wanted' | 'scan'): Promise<void> {
    const { store, clock } = this.deps;
    const released = new Set<string>();
    const ended = new Set<number>();
    const handed: DueDelivery[] = [];
    this.releasedDuringRead = released;
    this.endedDuringRead = ended;
    this.handedDuringRead = handed;
    const excluded = this.claims?.excluded ?? [];
    const holder = this.claims?.holder();
    let rows: DueDelivery[];
    try {
      this.claimsMade += 1;
      if (kind === 'wanted') {
        const skip = new Set(excluded);
        const keys = [...this.wanted].filter((k) => !this.held.has(k) && !skip.has(k));
        this.wanted.clear();
        rows = await store.claimQueues(keys, PREFETCH_PER_QUEUE, clock.now(), holder);
      } else {
        const held = [...this.held.keys(), ...excluded];
        rows = await store.claimDeliveries(clock.now(), 2 * this.concurrency, PREFETCH_PER_QUEUE, held, holder);
        // A full answer may have left due rows unread: free slots must ask again.
        this.truncated = rows.length >= 2 * this.concurrency;
      }
    } finally {
      // Only here, once this pump runs again: a queue can be released (an attempt can end)
      // between the read's answer and this continuation, and must count as during the read.
      this.releasedDuringRead = null;
      this.endedDuringRead = null;
      this.handedDuringRead = null;
    }
    const taken = this.take(rows, released, ended, kind === 'wanted');
    if (holder && taken.length > 0) this.claims?.claimed(taken, holder.until);
    // What was committed while the read was out: onto the queues it gave, or read next.
    if (handed.length > 0) this.handOver(handed);
  }

  /** Holds the rows read of every queue this dispatcher did not hold already; answers those keys. */
  private take(due: DueDelivery[], released: Set<string>, ended: Set<number>, whole: boolean): string[] {
    const fresh = new Map<string, HeldQueue>();
    for (const row of due) {
      const key = row.queueKey;
      if (released.has(key) || ended.has(row.id) || this.inFlight.has(row.id)) continue;
      let queue = fresh.get(key);
      if (!queue) {
        if (this.held.has(key)) continue;
        queue = { key, channelId: row.channelId, ordered: row.target.ordered, rows: [], inFlight: 0, complete: false, maxId: 0, idleSince: NaN };
        fresh.set(key, queue);
      }
      queue.rows.push(row);
      queue.maxId = Math.max(queue.maxId, row.id);
    }
    for (const queue of fresh.values()) {
      // Fewer rows than asked for: the read saw the whole queue (a scan sees only unordered rows due).
      queue.complete = queue.rows.length < PREFETCH_PER_QUEUE && (whole || queue.ordered);
      this.held.set(queue.key, queue);
      this.ready.add(queue);
    }
    return [...fresh.keys()];
  }

  /** Launches what the held queues may send now, within the global and per-channel caps. */
  private fill(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    for (const queue of this.ready) {
      if (this.inFlight.size >= this.concurrency) return;
      if (queue.rows.length === 0 || !this.held.has(queue.key)) {
        this.ready.delete(queue);
        continue;
      }
      if (this.claims && queue.rows.length > 0 && !this.claims.fresh(queue.key)) {
        // Its claim was not renewed in time: another node may take it, so this one stops.
        this.release(queue, true);
        continue;
      }
      while (queue.rows.length > 0 && queue.inFlight < (queue.ordered ? 1 : UNORDERED_PER_QUEUE)) {
        if (this.inFlight.size >= this.concurrency || (this.busyChannels.get(queue.channelId) ?? 0) >= this.perChannel) break;
        const index = queue.ordered ? 0 : queue.rows.findIndex((r) => r.nextAttemptAt <= now);
        const row = queue.rows[Math.max(0, index)]!;
        if (row.nextAttemptAt > now || index < 0) {
          // Not due yet (it waits for a retry): held, and looked at again when it is.
          this.wakeAt(queue.ordered ? row.nextAttemptAt : Math.min(...queue.rows.map((r) => r.nextAttemptAt)));
          break;
        }
        queue.rows.splice(Math.max(0, index), 1);
        this.launch(queue, row);
      }
    }
  }

  /**
   * After an attempt: a queue with rows left goes on; one that is held whole waits, idle, for
   * the next row the store hands over; otherwise it is let go, and the store answers for it again.
   */
  private release(queue: HeldQueue, dropRows: boolean): void {
    if (dropRows) {
      queue.rows = [];
      queue.complete = false;
    }
    if (queue.rows.length > 0 || queue.inFlight > 0) return;
    if (queue.complete && !this.stopped) {
      queue.idleSince = this.deps.clock.now();
      this.sweepLater();
      return;
    }
    this.held.delete(queue.key);
    this.releasedDuringRead?.add(queue.key);
    this.claims?.release(queue.key);
    this.wake();
  }

  /** Lets go of queues idle for IDLE_QUEUE_MS (and their claims, for other nodes). */
  private sweepLater(): void {
    if (this.sweepTimer || this.stopped) return;
    this.sweepTimer = this.deps.clock.setTimeout(() => {
      this.sweepTimer = null;
      const now = this.deps.clock.now();
      let idle = false;
      for (const queue of [...this.held.values()]) {
        if (!(queue.idleSince >= 0)) continue;
        if (now - queue.idleSince < IDLE_QUEUE_MS) {
          idle = true;
          continue;
        }
        queue.complete = false;
        this.release(queue, true);
      }
      if (idle) this.sweepLater();
    }, IDLE_QUEUE_MS);
  }

  private async sleepUntilDue(): Promise<void> {
    const now = this.deps.clock.now();
    // Queues held wake the pump themselves (releases, retries coming due); the store is asked
    // for its next due time only when nothing is held, and the idle look is a safety net.
    if (this.inFlight.size > 0 || this.held.size > 0) {
      this.wakeAt(now + this.idleMs);
      return;
    }
    const next = await this.deps.store.nextDeliveryDue();
    // A due time in the past means its queue is busy: the attempt in flight wakes the pump when
    // it ends. Retries this process scheduled have their own wake-ups (see attempt).
    const at = next === null || next <= now ? now + this.idleMs : Math.min(next, now + this.idleMs);
    this.wakeAt(Math.max(at, now + 10));
  }

  /** Makes sure the pump scans again by `at` (keeps an earlier wake-up). */
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
        // A free slot, and the last scan could not answer everything due: ask again.
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
