import { Type } from '@sinclair/typebox';
import type { Clock, TimerHandle } from '../channel/clock.js';

/**
 * How often WhatsApp Web pings its server (`w:p` iq), and Baileys' default `keepAliveIntervalMs`.
 * wagate never pings a real WhatsApp server more often than this at rest (docs/baileys.md).
 */
export const WHATSAPP_WEB_KEEP_ALIVE_MS = 30_000;
/** How long a request may go unanswered before the connection is probed. */
export const DEFAULT_ACK_WINDOW_MS = 3_000;
/** How long a probe may go unanswered before the connection is declared lost. */
export const DEFAULT_PROBE_TIMEOUT_MS = 3_000;

/** The liveness options an engine's creation options may carry (baileys, sandbox). */
export const LivenessOptions = {
  keep_alive_ms: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 600_000 })),
  ack_window_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  probe_timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
};

export interface LivenessTimings {
  /** The regular keep-alive: one ping per interval at rest. */
  keepAliveMs: number;
  ackWindowMs: number;
  probeTimeoutMs: number;
}

/** The timings named by a channel's options, else the defaults. */
export function livenessTimings(options: Record<string, unknown>): LivenessTimings {
  const o = options as { keep_alive_ms?: number; ack_window_ms?: number; probe_timeout_ms?: number };
  return {
    keepAliveMs: o.keep_alive_ms ?? WHATSAPP_WEB_KEEP_ALIVE_MS,
    ackWindowMs: o.ack_window_ms ?? DEFAULT_ACK_WINDOW_MS,
    probeTimeoutMs: o.probe_timeout_ms ?? DEFAULT_PROBE_TIMEOUT_MS,
  };
}

/** What the watch does to the connection it watches. */
export interface LivenessHooks {
  /** Sends one ping outside the regular keep-alive; its answer comes back through `received()`. */
  probe(): void;
  /** The connection carries nothing any more: end it (once), with this detail. */
  lost(detail: string): void;
}

/** How a watched request ended. */
export type Answer<T> = { kind: 'answered'; value: T } | { kind: 'unconfirmed' };

/** The connection was declared lost (or ended) while a request waited for its answer. */
export class ConnectionLostError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'ConnectionLostError';
  }
}

interface Waiting {
  since: number;
  timer: TimerHandle | null;
  /** The answer did not come within the window, but the connection answered a probe. */
  alive(): void;
  fail(err: Error): void;
}

/**
 * Whether a connection still carries anything, judged by answers. A request that expects an
 * answer (a message waiting for its server ack, an iq) and gets none within the ack window makes
 * the watch probe at once; at rest, silence for one keep-alive interval plus the ack window means
 * the regular ping went unanswered, and the watch probes too. Anything received ends a probe; a
 * probe unanswered within its timeout declares the connection lost. The watch only ever pings on
 * suspicion, so at rest WhatsApp is pinged at the regular keep-alive rate.
 */
export class LivenessWatch {
  private lastReceived: number;
  private quietTimer: TimerHandle | null = null;
  private probeTimer: TimerHandle | null = null;
  private waiting = new Set<Waiting>();
  private ended: string | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly timings: LivenessTimings,
    private readonly hooks: LivenessHooks,
  ) {
    this.lastReceived = clock.now();
    this.armQuiet();
  }

  /** Whether a probe is out. */
  get probing(): boolean {
    return this.probeTimer !== null;
  }

  /** The network carried something from the server: the connection is alive. */
  received(): void {
    if (this.ended) return;
    this.lastReceived = this.clock.now();
    this.armQuiet();
    if (!this.probeTimer) return;
    this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = null;
    // Requests whose window ran out stay unanswered, but the connection is not to blame.
    for (const w of [...this.waiting]) if (w.timer === null) w.alive();
  }

  /**
   * Waits for `answer` under the ack window: the answer, `unconfirmed` when it did not come in the
   * window but the connection answered a probe, or ConnectionLostError when the probe went
   * unanswered (the connection is then declared lost) or the watch was stopped meanwhile.
   */
  watch<T>(answer: Promise<T>): Promise<Answer<T>> {
    if (this.ended) return Promise.reject(new ConnectionLostError(this.ended));
    return new Promise<Answer<T>>((resolve, reject) => {
      const w: Waiting = {
        since: this.clock.now(),
        timer: null,
        alive: () => settle(() => resolve({ kind: 'unconfirmed' })),
        fail: (err) => settle(() => reject(err)),
      };
      const settle = (fn: () => void): void => {
        if (!this.waiting.delete(w)) return;
        if (w.timer) this.clock.clearTimeout(w.timer);
        w.timer = null;
        fn();
      };
      w.timer = this.clock.setTimeout(() => {
        w.timer = null;
        this.probe();
      }, this.timings.ackWindowMs);
      this.waiting.add(w);
      answer.then(
        (value) => settle(() => resolve({ kind: 'answered', value })),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** Ends the watch (the connection closed): waiting requests fail with `detail`, no more probes. */
  stop(detail: string): void {
    if (this.ended) return;
    this.ended = detail;
    if (this.quietTimer) this.clock.clearTimeout(this.quietTimer);
    if (this.probeTimer) this.clock.clearTimeout(this.probeTimer);
    this.quietTimer = null;
    this.probeTimer = null;
    for (const w of [...this.waiting]) w.fail(new ConnectionLostError(detail));
  }

  private armQuiet(): void {
    if (this.quietTimer) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = this.clock.setTimeout(() => {
      this.quietTimer = null;
      this.probe();
    }, this.timings.keepAliveMs + this.timings.ackWindowMs);
  }

  private probe(): void {
    if (this.ended || this.probeTimer) return;
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = null;
      this.declareLost();
    }, this.timings.probeTimeoutMs);
    this.hooks.probe();
  }

  private declareLost(): void {
    // The oldest unanswered request dates the silence; at rest, the last thing received does.
    const since = this.waiting.size > 0 ? Math.min(...[...this.waiting].map((w) => w.since)) : this.lastReceived;
    const detail = `no answer from WhatsApp for ${Math.round((this.clock.now() - since) / 1000)} s`;
    this.stop(detail);
    this.hooks.lost(detail);
  }
}
