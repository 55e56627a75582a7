import type { Alert, AlertKind, ChannelEvent, EventName, EventPayloads, HistoryEntry, StatusText, User } from '@wagate/protocol';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from './config.js';
import {
  initialState,
  step,
  type Effect,
  type EngineSignal,
  type LifecycleInput,
  type LifecycleState,
  type TimerName,
} from './lifecycle.js';

// Test support: runs the pure lifecycle in virtual time. Production code does not use it.

/** The virtual epoch tests start at. */
export const T0 = Date.UTC(2026, 0, 1);

/** A timer that the effects scheduled and nothing has cancelled or fired yet. */
export interface PendingTimer {
  at: number;
  attempt: number;
}

export interface DriverOptions {
  config?: LifecycleConfig;
  /** The jitter source; a fixed value keeps runs reproducible. */
  random?: () => number;
  /** Saved credentials of an account linked earlier. */
  user?: User | null;
  now?: number;
}

/**
 * Holds a channel's lifecycle state and applies inputs to it. It keeps the timers that the
 * effects schedule (a `cancel` drops one, a new `schedule` of the same name replaces it) and
 * `advance(ms)` fires the due ones as `timer` inputs, in order of their due time.
 */
export class LifecycleDriver {
  state: LifecycleState;
  now: number;
  readonly config: LifecycleConfig;
  readonly random: () => number;
  readonly timers = new Map<TimerName, PendingTimer>();
  /** Every effect produced so far, in order. */
  readonly effects: Effect[] = [];
  /** Every step so far: when it ran, what it was given, what it produced. */
  readonly log: Array<{ at: number; input: LifecycleInput; effects: Effect[] }> = [];

  constructor(opts: DriverOptions = {}) {
    this.now = opts.now ?? T0;
    this.config = opts.config ?? DEFAULT_LIFECYCLE;
    this.random = opts.random ?? (() => 0.5);
    this.state = initialState(this.now, opts.user ?? null);
  }

  /** Applies one input at the current virtual time and returns its effects. */
  send(input: LifecycleInput): Effect[] {
    const { state, effects } = step(this.state, input, this.now, { config: this.config, random: this.random });
    this.state = state;
    for (const e of effects) {
      if (e.kind === 'schedule') this.timers.set(e.timer, { at: e.at, attempt: e.attempt });
      if (e.kind === 'cancel') this.timers.delete(e.timer);
    }
    this.effects.push(...effects);
    this.log.push({ at: this.now, input, effects });
    return effects;
  }

  /** An engine signal for the live attempt (or for `attempt`, to play a stale one). */
  engine(signal: EngineSignal, attempt = this.state.attempt): Effect[] {
    return this.send({ type: 'engine', attempt, signal });
  }

  /** Moves virtual time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): Effect[] {
    const target = this.now + ms;
    const fired: Effect[] = [];
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [timer, { at, attempt }] = due;
      this.timers.delete(timer);
      this.now = Math.max(this.now, at);
      fired.push(...this.send({ type: 'timer', timer, attempt }));
    }
    this.now = target;
    return fired;
  }

  /** Advances exactly to the due time of the pending timer `name` (which must exist). */
  fire(name: TimerName): Effect[] {
    const t = this.timers.get(name);
    if (!t) throw new Error(`no pending ${name} timer`);
    return this.advance(t.at - this.now);
  }

  /** A copy that can take another path from here; its effect log starts empty. */
  fork(): LifecycleDriver {
    const copy = new LifecycleDriver({ config: this.config, random: this.random, now: this.now });
    copy.state = structuredClone(this.state);
    for (const [name, t] of this.timers) copy.timers.set(name, { ...t });
    return copy;
  }

  /** `NOT_INIT → INIT → LAUNCH → QR → AUTH`: a start, a QR, and a scan by `user`. */
  pair(user: User): void {
    this.send({ type: 'start', reason: 'started' });
    this.engine({ type: 'launching' });
    this.engine({ type: 'qr', text: 'qr-1', ttlMs: 60_000 });
    this.engine({ type: 'open', user });
  }

  /** The engine of the live attempt launches and opens as `user`. */
  launchAndOpen(user: User): Effect[] {
    return [...this.engine({ type: 'launching' }), ...this.engine({ type: 'open', user })];
  }
}

export const ALICE: User = { id: '15550001111@s.whatsapp.net', name: 'Alice' };
export const BOB: User = { id: '15550002222@s.whatsapp.net', name: 'Bob' };

/** A status, or one of the two waiting states that share a status with a running one. */
export type Situation = StatusText | 'INIT_BACKOFF' | 'QR_PARKED';

/** A driver brought to `situation` along a normal path (ALICE is the linked account). */
export function driverIn(situation: Situation, opts: DriverOptions = {}): LifecycleDriver {
  const d = new LifecycleDriver(opts);
  const pairing = (): void => {
    d.send({ type: 'start', reason: 'started' });
    d.engine({ type: 'launching' });
    d.engine({ type: 'qr', text: 'qr-1', ttlMs: 60_000 });
  };
  switch (situation) {
    case 'NOT_INIT':
      break;
    case 'INIT':
      d.send({ type: 'start', reason: 'started' });
      break;
    case 'LAUNCH':
      d.send({ type: 'start', reason: 'started' });
      d.engine({ type: 'launching' });
      break;
    case 'QR':
      pairing();
      break;
    case 'QR_PARKED':
      pairing();
      while (!d.state.parked) d.engine({ type: 'close', reason: 'qr_exhausted', detail: 'no scan' });
      break;
    case 'AUTH':
      d.pair(ALICE);
      break;
    case 'SYNC_ERROR':
      d.pair(ALICE);
      d.engine({ type: 'sync_error', detail: 'app state sync failed' });
      break;
    case 'INIT_BACKOFF':
      d.pair(ALICE);
      d.engine({ type: 'close', reason: 'transient', detail: 'socket closed' });
      break;
    case 'ERROR':
      d.pair(ALICE);
      d.engine({ type: 'close', reason: 'replaced', detail: 'another session' });
      break;
    case 'STOP':
      d.pair(ALICE);
      d.send({ type: 'stop', reason: 'operator' });
      break;
  }
  return d;
}

/** The history entries among `effects`. */
export function records(effects: Effect[]): HistoryEntry[] {
  return effects.flatMap((e) => (e.kind === 'record' ? [e.entry] : []));
}

/** The statuses that `effects` moved through, notes left out. */
export function path(effects: Effect[]): string[] {
  return records(effects).filter((r) => r.from !== r.to).map((r) => r.to);
}

/** The payloads of the events named `name` among `effects`. */
export function emitted<N extends EventName>(effects: Effect[], name: N): EventPayloads[N][] {
  return effects.flatMap((e) => (e.kind === 'emit' && e.event.name === name ? [(e.event as ChannelEvent<N>).payload] : []));
}

/** The alerts among `effects`, optionally of one kind. */
export function alerts(effects: Effect[], kind?: AlertKind): Alert[] {
  return emitted(effects, 'alerts.post').map((p) => p.alert).filter((a) => !kind || a.kind === kind);
}

/** The `kind`s of `effects`, in order (with the timer or event name where it has one). */
export function kinds(effects: Effect[]): string[] {
  return effects.map((e) => {
    if (e.kind === 'schedule' || e.kind === 'cancel') return `${e.kind}:${e.timer}`;
    if (e.kind === 'emit') return `emit:${e.event.name}`;
    return e.kind;
  });
}

/** The `connect` effects among `effects`. */
export function connects(effects: Effect[]): number[] {
  return effects.flatMap((e) => (e.kind === 'connect' ? [e.attempt] : []));
}
