import type { Alert, AlertKind, ChannelEvent, DisconnectClass, HistoryEntry, StatusText, User } from '@wagate/protocol';
import { backoffDelay, type LifecycleConfig } from './config.js';

/** The lifecycle's timers; each has at most one pending instance. */
export type TimerName = 'init' | 'launch' | 'reconnect';

/** What the lifecycle knows about one channel. Plain data: copied, never mutated in place. */
export interface LifecycleState {
  status: StatusText;
  reason: string;
  detail: string | null;
  statusSince: number;
  /** When the current run began (ms); reconnects keep it. */
  startAt: number | null;
  /** The id of the live connection attempt; engine events from older attempts are ignored. */
  attempt: number;
  /** Whether an attempt is live (false while waiting for a backoff timer, parked, stopped). */
  connecting: boolean;
  /** Consecutive failed attempts since the last success. */
  failures: number;
  /** The current pairing round (1-based; 0 outside pairing). */
  qrRound: number;
  qr: { text: string; expiresAt: number } | null;
  /** Pairing rounds ran out: the channel waits for a wakeup. */
  parked: boolean;
  user: User | null;
  /** The channel was AUTH and is recovering from a drop (sends may wait: SPEC §6 send hold). */
  reconnecting: boolean;
  /** Times of recent drops out of AUTH (flap detection). */
  drops: number[];
  flapping: boolean;
}

/** What the engine reports about one connection attempt. */
export type EngineSignal =
  | { type: 'launching' }
  | { type: 'qr'; text: string; ttlMs: number }
  | { type: 'open'; user: User }
  | { type: 'close'; reason: DisconnectClass; detail: string }
  | { type: 'sync_error'; detail: string };

export type LifecycleInput =
  | { type: 'start'; reason: string }
  | { type: 'restart'; reason: string }
  | { type: 'stop'; reason: string }
  | { type: 'wakeup' }
  | { type: 'logout' }
  | { type: 'engine'; attempt: number; signal: EngineSignal }
  | { type: 'timer'; timer: TimerName; attempt: number };

export type Effect =
  /** A status change or a note in the history; `from === to` marks a note. */
  | { kind: 'record'; entry: HistoryEntry }
  | { kind: 'connect'; attempt: number }
  | { kind: 'disconnect' }
  /** Tell WhatsApp that this device leaves, then wipe credentials. */
  | { kind: 'logout' }
  | { kind: 'wipe_credentials' }
  | { kind: 'emit'; event: ChannelEvent }
  | { kind: 'schedule'; timer: TimerName; at: number; attempt: number }
  | { kind: 'cancel'; timer: TimerName };

export interface StepResult {
  state: LifecycleState;
  effects: Effect[];
}

export interface LifecycleEnv {
  config: LifecycleConfig;
  /** A number in [0, 1): the jitter source. */
  random: () => number;
}

/** A channel that has never run. */
export function initialState(now: number, user: User | null = null): LifecycleState {
  return {
    status: 'NOT_INIT', reason: 'created', detail: null, statusSince: now, startAt: null,
    attempt: 0, connecting: false, failures: 0, qrRound: 0, qr: null, parked: false, user,
    reconnecting: false, drops: [], flapping: false,
  };
}

/** Statuses in which the channel is not running and waits for an operator or a wakeup. */
const IDLE: ReadonlySet<StatusText> = new Set(['NOT_INIT', 'STOP', 'ERROR']);

/** The lifecycle: `(state, input, now) → (state, effects)`. Pure: no timers, I/O or clock inside. */
export function step(state: LifecycleState, input: LifecycleInput, now: number, env: LifecycleEnv): StepResult {
  const t = new Transition(state, now, env);
  switch (input.type) {
    case 'start':
      if (state.status === 'STOP' || state.status === 'NOT_INIT' || state.status === 'ERROR') t.begin(input.reason, true);
      break;
    case 'restart':
      t.begin(input.reason, true);
      break;
    case 'stop':
      if (state.status !== 'STOP') t.halt('STOP', input.reason, null);
      break;
    case 'wakeup':
      if (state.status === 'NOT_INIT') t.begin('wakeup', true);
      else if (state.status === 'QR' && state.parked) t.newPairingRound('wakeup');
      break;
    case 'logout':
      if (state.user) t.loggedOut('logout', 'logged out by the operator', true, !IDLE.has(state.status));
      break;
    case 'engine':
      if (input.attempt === state.attempt && state.connecting) t.onSignal(input.signal);
      break;
    case 'timer':
      if (input.attempt === state.attempt) t.onTimer(input.timer);
      break;
  }
  return { state: t.state, effects: t.effects };
}

/** Accumulates the next state and the effects of one step. */
class Transition {
  state: LifecycleState;
  effects: Effect[] = [];

  constructor(
    prev: LifecycleState,
    private readonly now: number,
    private readonly env: LifecycleEnv,
  ) {
    this.state = { ...prev, drops: [...prev.drops] };
  }

  private get config(): LifecycleConfig {
    return this.env.config;
  }

  /** Moves to `to`, recording why. */
  private moveTo(to: StatusText, reason: string, detail: string | null): void {
    const from = this.state.status;
    this.state.status = to;
    this.state.reason = reason;
    this.state.detail = detail;
    this.state.statusSince = this.now;
    if (to !== 'QR') this.state.qr = null;
    if (to !== 'QR') this.state.parked = false;
    const entry: HistoryEntry = { at: this.now, from, to, reason };
    if (detail !== null) entry.detail = detail;
    this.effects.push({ kind: 'record', entry });
  }

  private note(reason: string, detail: string): void {
    const s = this.state.status;
    this.effects.push({ kind: 'record', entry: { at: this.now, from: s, to: s, reason, detail } });
  }

  private alert(kind: AlertKind, detail: string): void {
    const alert: Alert = { kind, detail, at: Math.floor(this.now / 1000) };
    this.effects.push({ kind: 'emit', event: { name: 'alerts.post', payload: { alert } } });
  }

  private cancelAll(): void {
    for (const timer of ['init', 'launch', 'reconnect'] as const) this.effects.push({ kind: 'cancel', timer });
  }

  /** Ends the live attempt, if any, and invalidates its late events. */
  private dropAttempt(): void {
    if (this.state.connecting) this.effects.push({ kind: 'disconnect' });
    this.state.connecting = false;
    this.state.attempt += 1;
  }

  /** Starts a new connection attempt now, in INIT, under the INIT watchdog. */
  private connect(): void {
    this.state.attempt += 1;
    this.state.connecting = true;
    this.effects.push({ kind: 'connect', attempt: this.state.attempt });
    this.effects.push({ kind: 'schedule', timer: 'init', at: this.now + this.config.initTimeoutMs, attempt: this.state.attempt });
  }

  /** A new run: start, restart, boot or wakeup. */
  begin(reason: string, newRun: boolean): void {
    this.cancelAll();
    this.dropAttempt();
    if (newRun) this.state.startAt = this.now;
    Object.assign(this.state, { failures: 0, qrRound: 0, reconnecting: false });
    this.moveTo('INIT', reason, null);
    this.connect();
  }

  /** A terminal status for this run (STOP or ERROR): nothing runs until started again. */
  halt(to: 'STOP' | 'ERROR', reason: string, detail: string | null): void {
    this.cancelAll();
    this.dropAttempt();
    this.state.reconnecting = false;
    this.state.failures = 0;
    this.moveTo(to, reason, detail);
  }

  /** Another pairing round, with the status staying QR (only a new QR is news). */
  newPairingRound(reason: string): void {
    this.cancelAll();
    this.dropAttempt();
    this.state.parked = false;
    this.state.qr = null;
    this.state.qrRound = reason === 'wakeup' ? 1 : this.state.qrRound + 1;
    this.note(reason, `pairing round ${this.state.qrRound} of ${this.config.qrMaxRounds}`);
    this.connect();
  }

  /**
   * The account is gone: wipe, tell, and (for a running channel) open a new pairing round. A
   * stopped, failed or never-started channel stays as it is, without its account.
   */
  loggedOut(reason: string, detail: string, byOperator: boolean, pairAgain = true): void {
    this.cancelAll();
    this.dropAttempt();
    this.effects.push({ kind: byOperator ? 'logout' : 'wipe_credentials' });
    if (this.state.user) this.effects.push({ kind: 'emit', event: { name: 'users.delete', payload: { user: this.state.user } } });
    Object.assign(this.state, { user: null, failures: 0, qrRound: 0, reconnecting: false });
    if (!pairAgain) {
      this.note(reason, detail);
      return;
    }
    this.moveTo('INIT', reason, detail);
    this.connect();
  }

  onSignal(signal: EngineSignal): void {
    const s = this.state;
    switch (signal.type) {
      case 'launching':
        if (s.status !== 'INIT') return;
        this.effects.push({ kind: 'cancel', timer: 'init' });
        this.moveTo('LAUNCH', 'connecting', null);
        this.effects.push({ kind: 'schedule', timer: 'launch', at: this.now + this.config.launchTimeoutMs, attempt: s.attempt });
        return;
      case 'qr':
        this.effects.push({ kind: 'cancel', timer: 'init' }, { kind: 'cancel', timer: 'launch' });
        if (s.qrRound === 0) s.qrRound = 1;
        s.failures = 0;
        s.reconnecting = false;
        if (s.status !== 'QR') this.moveTo('QR', 'pairing', `pairing round ${s.qrRound}`);
        s.qr = { text: signal.text, expiresAt: this.now + signal.ttlMs };
        this.effects.push({ kind: 'emit', event: { name: 'channel.patch', payload: { qr: qrPayload(s, this.now) } } });
        return;
      case 'open':
        this.onOpen(signal.user);
        return;
      case 'sync_error':
        if (s.status === 'AUTH') this.moveTo('SYNC_ERROR', 'sync_failed', signal.detail);
        return;
      case 'close':
        this.onClose(signal.reason, signal.detail);
        return;
    }
  }

  private onOpen(user: User): void {
    const s = this.state;
    this.effects.push({ kind: 'cancel', timer: 'init' }, { kind: 'cancel', timer: 'launch' });
    const linked = !s.user || s.user.id !== user.id;
    const wasReconnecting = s.reconnecting;
    Object.assign(s, { user, failures: 0, qrRound: 0, reconnecting: false });
    this.moveTo('AUTH', linked ? 'paired' : wasReconnecting ? 'reconnected' : 'connected', null);
    if (linked) this.effects.push({ kind: 'emit', event: { name: 'users.post', payload: { user } } });
  }

  private onClose(reason: DisconnectClass, detail: string): void {
    const s = this.state;
    const wasUp = s.status === 'AUTH' || s.status === 'SYNC_ERROR';
    switch (reason) {
      case 'logged_out':
        this.loggedOut('logged_out', detail, false);
        return;
      case 'replaced':
      case 'banned':
      case 'forbidden':
        this.halt('ERROR', reason, detail);
        return;
      case 'qr_exhausted':
        if (s.qrRound < this.config.qrMaxRounds) return this.newPairingRound('qr_round_ended');
        this.cancelAll();
        this.dropAttempt();
        // An engine may end its refs before a QR was shown: park in QR all the same.
        if (s.status !== 'QR') this.moveTo('QR', 'pairing', `pairing round ${s.qrRound}`);
        s.parked = true;
        s.qr = null;
        this.note('parked', `no scan after ${s.qrRound} pairing rounds; a wakeup starts a new one`);
        return;
      case 'restart_required':
        if (wasUp) this.recordDrop();
        this.cancelAll();
        this.dropAttempt();
        s.reconnecting = s.reconnecting || wasUp;
        this.moveTo('INIT', 'restart_required', detail);
        this.connect();
        return;
      case 'transient':
        this.onTransient(detail, wasUp);
        return;
    }
  }

  /** A drop that may heal: back off, one attempt at a time, and give up after the cap. */
  private onTransient(detail: string, wasUp: boolean): void {
    const s = this.state;
    if (wasUp) this.recordDrop();
    this.cancelAll();
    this.dropAttempt();
    // The drop of a working connection is not a failed attempt: N failures means N retries failed.
    if (!wasUp) s.failures += 1;
    s.reconnecting = s.reconnecting || wasUp;
    if (s.failures >= this.config.reconnect.maxFailures) {
      this.halt('ERROR', 'reconnect_failed', `${s.failures} attempts failed; last: ${detail}`);
      return;
    }
    const delay = backoffDelay(this.config.reconnect, s.failures, this.env.random());
    this.moveTo('INIT', 'connection_lost', `${detail}; attempt ${s.failures + 1} in ${delay} ms`);
    this.effects.push({ kind: 'schedule', timer: 'reconnect', at: this.now + delay, attempt: s.attempt });
  }

  /** Counts a drop out of AUTH and raises the flapping alert when the window fills. */
  private recordDrop(): void {
    const s = this.state;
    const { drops, windowMs } = this.config.flap;
    s.drops = [...s.drops.filter((t) => t > this.now - windowMs), this.now];
    if (s.drops.length >= drops && !s.flapping) {
      s.flapping = true;
      const detail = `${s.drops.length} drops out of AUTH within ${Math.round(windowMs / 60_000)} min`;
      this.note('flapping', detail);
      this.alert('flapping', detail);
    } else if (s.drops.length < drops) {
      s.flapping = false;
    }
  }

  onTimer(timer: TimerName): void {
    const s = this.state;
    if (timer === 'init' && s.status === 'INIT' && s.connecting) {
      this.alert('stuck_init', `INIT lasted over ${this.config.initTimeoutMs} ms`);
      this.halt('ERROR', 'init_timeout', `INIT lasted over ${this.config.initTimeoutMs} ms`);
    } else if (timer === 'init' && s.status === 'QR' && s.qr === null && !s.parked && s.connecting) {
      // A later pairing round keeps the status QR; if its engine hangs before the first QR,
      // the round is abandoned and retried like a stuck LAUNCH.
      this.alert('stuck_init', `pairing round ${s.qrRound} showed no QR within ${this.config.initTimeoutMs} ms`);
      this.onTransient('pairing_round_timeout', false);
    } else if (timer === 'launch' && s.status === 'LAUNCH' && s.connecting) {
      this.alert('stuck_launch', `LAUNCH lasted over ${this.config.launchTimeoutMs} ms`);
      this.onTransient('launch_timeout', false);
    } else if (timer === 'reconnect' && s.status === 'INIT' && !s.connecting) {
      this.connect();
    }
  }
}

/** The QR object (Whapi's `QR`) for the state as it stands. */
export function qrPayload(s: LifecycleState, now: number): { status: 'OK' | 'WAITING' | 'TIMEOUT'; rowdata?: string; expire?: number } {
  if (s.status === 'QR' && s.parked) return { status: 'TIMEOUT' };
  if (s.status !== 'QR' || !s.qr) return { status: 'WAITING' };
  return { status: 'OK', rowdata: s.qr.text, expire: Math.max(0, Math.ceil((s.qr.expiresAt - now) / 1000)) };
}

/** Whether the state counts as idle (nothing runs until an operator or a wakeup acts). */
export function isIdle(s: LifecycleState): boolean {
  return IDLE.has(s.status) || (s.status === 'QR' && s.parked);
}
