import { AbortedError, systemClock, unref, type Clock } from '../clock.js';
import { Emitter } from '../emitter.js';
import { canSendIn, type StatusText, type User, type WireHealth } from '../protocol.js';
import type { WebhookEvent } from '../webhooks/parse.js';
import { freshness, webhookSequence, type Freshness } from './freshness.js';

/** Where a status came from. */
export type StatusSource = 'webhook' | 'poll' | 'initial';

export interface StatusChange {
  from: StatusText | null;
  to: StatusText;
  source: StatusSource;
  /** The event that moved it (`channel.post`, `users.delete`, ...), or `health` for a poll. */
  cause: string;
  at: number;
}

export interface FlappingSignal {
  /** `tracker`: this tracker counted the drops; `alert`: the gateway said so (`alerts.post`, kind `flapping`). */
  source: 'tracker' | 'alert';
  /** Drops out of AUTH this tracker saw within the window. */
  drops: number;
  detail: string;
  at: number;
}

export interface TrackerEvents {
  change: StatusChange;
  flapping: FlappingSignal;
  /** A `/health` poll failed (the tracker keeps its last status and polls again later). */
  pollError: unknown;
}

/** Anything that answers `GET /health` (a `GateClient`). */
export interface HealthSource {
  health(options: { wakeup?: boolean }): Promise<WireHealth>;
}

export interface TrackerOptions {
  /** Polled with `GET /health?wakeup=false` when webhooks go quiet; without it the tracker follows webhooks only. */
  client?: HealthSource;
  clock?: Clock;
  /** Poll after this long without any webhook (default 60 s); 0 turns polling off. */
  quietMs?: number;
  /** While the channel cannot send, poll after this long without a webhook (default 5 s). */
  downPollMs?: number;
  /** Drops out of AUTH within `windowMs` that count as flapping (default 3 in 15 min, as wagate's alert). */
  flap?: { drops: number; windowMs: number };
  /** A status known before any event (e.g. from an earlier `GET /health`). */
  initial?: WireHealth;
  /** Ignore events of other channels (one webhook URL may serve several). */
  channelId?: string;
}

/** `waitFor` ran out of time. */
export class StatusTimeoutError extends Error {
  override readonly name = 'StatusTimeoutError';
}

/**
 * Follows one channel's status from its webhooks (`channel.post`, `users.*`, `alerts.post`),
 * polls `/health` when they go quiet, and ignores stale events: see `freshness.ts` for how
 * an event's age is judged. Call `handle` from your webhook receiver and `start` to poll.
 */
export class ChannelStatusTracker extends Emitter<TrackerEvents> {
  private current: StatusText | null = null;
  private currentUser: User | null = null;
  private lastHealth: WireHealth | null = null;
  private seen: Freshness = { seq: null, startAt: null, uptime: null };
  /** Bumped on every applied event: a poll that raced one is judged with that in mind. */
  private version = 0;
  private lastActivity: number;
  private drops: number[] = [];
  private alertFlappingUntil = 0;
  private pollTimer: unknown = null;
  private polling: Promise<WireHealth | null> | null = null;
  private running = false;
  private readonly clock: Clock;
  private readonly quietMs: number;
  private readonly downPollMs: number;
  private readonly flap: { drops: number; windowMs: number };

  constructor(private readonly options: TrackerOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.quietMs = options.quietMs ?? 60_000;
    this.downPollMs = options.downPollMs ?? 5_000;
    this.flap = options.flap ?? { drops: 3, windowMs: 15 * 60_000 };
    this.lastActivity = this.clock.now();
    if (options.initial) this.applyHealth(options.initial, null, 'initial', 'health');
  }

  /** The last known status; null before anything was heard. */
  get status(): StatusText | null {
    return this.current;
  }
  /** The channel is AUTH. */
  get isAuthorized(): boolean {
    return this.current === 'AUTH';
  }
  /** Sending works: AUTH, or SYNC_ERROR (which still sends; only reads are refused). */
  get canSend(): boolean {
    return canSendIn(this.current);
  }
  get user(): User | null {
    return this.currentUser;
  }
  get health(): WireHealth | null {
    return this.lastHealth;
  }
  /** Drops out of AUTH within the window reached the threshold, or the gateway raised a flapping alert within it. */
  get flapping(): boolean {
    return this.dropsInWindow() >= this.flap.drops || this.clock.now() < this.alertFlappingUntil;
  }

  /**
   * Takes one webhook event; `delivery.id` is its `webhook-id` (wagate's `msg_<seq>` orders
   * events). Returns whether it changed what the tracker knows (false: stale or not about status).
   */
  handle(event: WebhookEvent, delivery: { id?: string | null } = {}): boolean {
    if (this.options.channelId !== undefined && event.channel_id !== this.options.channelId) return false;
    this.lastActivity = this.clock.now();
    const seq = webhookSequence(delivery.id);
    let applied = false;
    switch (event.name) {
      case 'channel.post':
        applied = this.applyHealth(event.health, seq, 'webhook', event.name);
        break;
      case 'users.post':
        applied = this.applyAccount(event.user, seq, 'AUTH', event.name);
        break;
      case 'users.delete':
        // The account is gone: a new pairing round starts (INIT → LAUNCH → QR).
        applied = this.applyAccount(null, seq, 'INIT', event.name);
        break;
      case 'alerts.post':
        if (event.alert.kind === 'flapping') {
          this.alertFlappingUntil = this.clock.now() + this.flap.windowMs;
          this.emit('flapping', { source: 'alert', drops: this.dropsInWindow(), detail: event.alert.detail, at: this.clock.now() });
          applied = true;
        }
        break;
    }
    this.schedule();
    return applied;
  }

  /** Polls `GET /health?wakeup=false` now (one poll at a time); resolves with what it read, or null on failure. */
  refresh(): Promise<WireHealth | null> {
    const client = this.options.client;
    if (!client) return Promise.resolve(null);
    this.polling ??= (async () => {
      const versionBefore = this.version;
      try {
        const health = await client.health({ wakeup: false });
        // An event applied while the poll was in flight may be newer than the poll's answer.
        const raced = this.version !== versionBefore && health.uptime <= (this.seen.uptime ?? -1) && health.start_at === this.seen.startAt;
        if (!raced) this.applyHealth(health, null, 'poll', 'health');
        return health;
      } catch (err) {
        this.emit('pollError', err);
        return null;
      } finally {
        this.polling = null;
        this.lastActivity = this.clock.now();
        this.schedule();
      }
    })();
    return this.polling;
  }

  /** A request was refused with `need channel authorization`: the status may be stale, check it. */
  noteUnauthorized(): void {
    if (this.canSend) void this.refresh();
  }

  /** Starts polling when webhooks go quiet (and at once when the status is unknown). */
  start(): void {
    this.running = true;
    if (this.current === null && this.options.client) void this.refresh();
    else this.schedule();
  }

  /** Stops polling. */
  stop(): void {
    this.running = false;
    if (this.pollTimer !== null) this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** Resolves when `predicate` holds for the status; rejects with `StatusTimeoutError` after `timeoutMs`. */
  waitFor(predicate: (status: StatusText | null) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (predicate(this.current)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        off();
        if (timer !== null) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const off = this.on('change', (c) => {
        if (predicate(c.to)) finish();
      });
      // An infinite wait sets no timer (Node would fire an oversized one at once).
      const timer = Number.isFinite(timeoutMs)
        ? this.clock.setTimeout(() => finish(new StatusTimeoutError(`status did not change as awaited within ${timeoutMs} ms (it is ${this.current ?? 'unknown'})`)), timeoutMs)
        : null;
      const onAbort = (): void => finish(new AbortedError('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves when the channel is AUTH; rejects with `StatusTimeoutError` after `timeoutMs`. */
  waitForAuth(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.waitFor((s) => s === 'AUTH', timeoutMs, signal);
  }

  private applyHealth(health: WireHealth, seq: number | null, source: StatusSource, cause: string): boolean {
    const verdict = freshness(this.seen, { seq, startAt: health.start_at, uptime: health.uptime });
    if (verdict === 'stale') return false;
    // A new run restarts the sequence baseline (a gateway with a fresh store counts from 1 again).
    this.seen = { seq: verdict === 'new_run' ? seq : (seq ?? this.seen.seq), startAt: health.start_at, uptime: health.uptime };
    this.lastHealth = health;
    // wagate's Health names the user while one is linked; Whapi's webhook Health may omit it.
    if (health.user) this.currentUser = health.user;
    else if (health.status.text === 'QR') this.currentUser = null;
    this.version += 1;
    this.moveTo(health.status.text, source, cause);
    return true;
  }

  private applyAccount(user: User | null, seq: number | null, status: StatusText, cause: string): boolean {
    if (freshness(this.seen, { seq, startAt: null, uptime: null }) === 'stale') return false;
    if (seq !== null) this.seen.seq = seq;
    this.currentUser = user;
    this.version += 1;
    this.moveTo(status, 'webhook', cause);
    return true;
  }

  private moveTo(to: StatusText, source: StatusSource, cause: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    const at = this.clock.now();
    if (canSendIn(from) && !canSendIn(to)) this.recordDrop(at);
    this.emit('change', { from, to, source, cause, at });
  }

  private recordDrop(at: number): void {
    const wasFlapping = this.dropsInWindow() >= this.flap.drops;
    this.drops.push(at);
    const drops = this.dropsInWindow();
    if (!wasFlapping && drops >= this.flap.drops) {
      this.emit('flapping', { source: 'tracker', drops, detail: `${drops} drops out of AUTH within ${this.flap.windowMs} ms`, at });
    }
  }

  private dropsInWindow(): number {
    const since = this.clock.now() - this.flap.windowMs;
    this.drops = this.drops.filter((t) => t > since);
    return this.drops.length;
  }

  /** Plans the next poll: `quietMs` after the last webhook or poll, sooner while the channel cannot send. */
  private schedule(): void {
    if (this.pollTimer !== null) this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (!this.running || !this.options.client || this.quietMs <= 0) return;
    const wait = this.canSend ? this.quietMs : Math.min(this.quietMs, this.downPollMs);
    const due = Math.max(0, this.lastActivity + wait - this.clock.now());
    this.pollTimer = this.clock.setTimeout(() => {
      this.pollTimer = null;
      void this.refresh();
    }, due);
    unref(this.pollTimer);
  }
}
