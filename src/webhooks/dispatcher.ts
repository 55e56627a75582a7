import type { Clock, TimerHandle } from '../channel/clock.js';
import type { Alert } from '@wagate/protocol';
import { UNORDERED_PER_QUEUE } from '../store/rows.js';
import type { DeliveryTarget, DueDelivery, Store } from '../store/types.js';
import { DeliveryAttempts, type Next } from './attempt.js';
import { QueueClaims, type ClaimOptions } from './claims.js';
import { OutcomeWriter } from './outcomes.js';
import type { DeliveryResult, Sender } from './sender.js';

export { FAILING_ALERT_AFTER, webhookId } from './attempt.js';

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
  /**
   * Requests in flight at once, across all queues. An answered attempt frees its slot while its
   * outcome is written (its queue waits for that); at most UNRECORDED_PER_SLOT times this many
   * attempts wait for their outcomes at once.
   */
  concurrency?: number;
  /** Share the outbox with other nodes: send only the queues claimed for this node. */
  claims?: ClaimOptions;
  /** Attempts in flight at once for one channel (default: a quarter of `concurrency`). */
  perChannel?: number;
  /** The longest the dispatcher sleeps before looking at the outbox again. */
  idleMs?: number;
  onError?(err: unknown): void;
}

/** Rows claimed ahead per ordered queue: they go one after another with no read in between. */
export const PREFETCH_PER_QUEUE = 32;
/** Answered attempts whose outcomes are being written, per request slot, at most. */
export const UNRECORDED_PER_SLOT = 4;
/** A queue with nothing to send is kept this long, so the next event it gets needs no read. */
export const IDLE_QUEUE_MS = 5_000;

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

/** What happened while a read of the store was out, so its answer is taken as of now. */
interface DuringRead {
  /**
   * Queues released meanwhile: the read may still list their rows as they were before the
   * outcomes just committed, so its rows of these queues are dropped.
   */
  released: Set<string>;
  /** Deliveries whose attempt ended meanwhile. */
  ended: Set<number>;
  /** Rows handed over meanwhile, for queues not held: looked at once the read answers. */
  handed: DueDelivery[];
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
  /** Attempts whose request is not answered yet (what `concurrency` caps). */
  private sending = 0;
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
  /** What happened while a read was out (null: none is). */
  private duringRead: DuringRead | null = null;
  private truncated = false;
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly perChannel: number;
  private readonly claims: QueueClaims | null;
  /** Batches the outcomes of attempts into shared commits. */
  readonly outcomes: OutcomeWriter;
  /** What one attempt sends and records. */
  private readonly attempts: DeliveryAttempts;
  /** Claims made (for the benchmarks' statements per delivery). */
  claimsMade = 0;

  constructor(private readonly deps: DispatcherDeps) {
    this.concurrency = deps.concurrency ?? 64;
    this.perChannel = deps.perChannel ?? Math.max(UNORDERED_PER_QUEUE, Math.floor(this.concurrency / 4));
    this.idleMs = deps.idleMs ?? 5_000;
    this.outcomes = new OutcomeWriter(deps.store);
    this.attempts = new DeliveryAttempts({ ...deps, outcomes: this.outcomes, retryAt: (at) => this.wakeAt(at) });
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

  /** Whether a webhook of the channel is failing: alerted, and nothing delivered since. */
  isFailing(channelId: string): boolean {
    return this.attempts.isFailing(channelId);
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
        if (this.duringRead) this.duringRead.handed.push(row);
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
        if (this.scan && this.hasSlot()) {
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
    const during: DuringRead = { released: new Set(), ended: new Set(), handed: [] };
    this.duringRead = during;
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
      this.duringRead = null;
    }
    const taken = this.take(rows, during, kind === 'wanted');
    if (holder && taken.length > 0) this.claims?.claimed(taken, holder.until);
    // What was committed while the read was out: onto the queues it gave, or read next.
    if (during.handed.length > 0) this.handOver(during.handed);
  }

  /** Holds the rows read of every queue this dispatcher did not hold already; answers those keys. */
  private take(due: DueDelivery[], { released, ended }: DuringRead, whole: boolean): string[] {
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
      if (!this.hasSlot()) return;
      if (queue.rows.length === 0 || !this.held.has(queue.key)) {
        this.ready.delete(queue);
        continue;
      }
      if (this.claims && !this.claims.fresh(queue.key)) {
        // Its claim was not renewed in time: another node may take it, so this one stops.
        this.release(queue, true);
        continue;
      }
      if (queue.ordered && queue.inFlight > 0) {
        // Waits for its head's outcome; put back once that attempt ends, so no fill walks past it.
        this.ready.delete(queue);
        continue;
      }
      while (queue.rows.length > 0 && queue.inFlight < (queue.ordered ? 1 : UNORDERED_PER_QUEUE)) {
        if (!this.hasSlot() || (this.busyChannels.get(queue.channelId) ?? 0) >= this.perChannel) break;
        // An ordered queue sends its head; an unordered one any row that is due.
        const index = queue.ordered ? 0 : queue.rows.findIndex((r) => r.nextAttemptAt <= now);
        if (index < 0 || queue.rows[index]!.nextAttemptAt > now) {
          // Not due yet (it waits for a retry): held, and looked at again when it is.
          this.wakeAt(queue.ordered ? queue.rows[0]!.nextAttemptAt : Math.min(...queue.rows.map((r) => r.nextAttemptAt)));
          break;
        }
        this.launch(queue, queue.rows.splice(index, 1)[0]!);
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
    this.duringRead?.released.add(queue.key);
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
    // it ends. Retries this process scheduled have their own wake-ups (`retryAt`).
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

  /** Whether another request may go out: a free request slot, and room to wait for its outcome. */
  private hasSlot(): boolean {
    return this.sending < this.concurrency && this.inFlight.size < UNRECORDED_PER_SLOT * this.concurrency;
  }

  private launch(queue: HeldQueue, delivery: DueDelivery): void {
    queue.inFlight += 1;
    count(this.busyChannels, delivery.channelId, 1);
    this.sending += 1;
    let answered = false;
    const sent = (): void => {
      if (answered) return;
      answered = true;
      this.sending -= 1;
      // The slot is free while the outcome is written: another queue's head can go.
      if (!this.stopped) this.fill();
    };
    const run = this.attempts
      .run(delivery, sent)
      .catch((err: unknown): Next => {
        this.deps.onError?.(err);
        return 'release';
      })
      .then((next) => {
        sent();
        this.inFlight.delete(delivery.id);
        this.duringRead?.ended.add(delivery.id);
        queue.inFlight -= 1;
        count(this.busyChannels, delivery.channelId, -1);
        this.release(queue, next === 'release' || this.stopped);
        if (this.stopped) return;
        if (queue.rows.length > 0 && this.held.get(queue.key) === queue) this.ready.add(queue);
        this.fill();
        // A free slot, and the last scan could not answer everything due: ask again.
        if (this.truncated && this.hasSlot()) this.wake();
      });
    this.inFlight.set(delivery.id, run);
  }
}

/** Adds `delta` to a counter, dropping it at zero so the map holds only busy keys. */
function count(counters: Map<string, number>, key: string, delta: number): void {
  const n = (counters.get(key) ?? 0) + delta;
  if (n > 0) counters.set(key, n);
  else counters.delete(key);
}
