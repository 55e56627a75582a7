import type { Alert, AlertKind, RemediationAction } from '@wagate/protocol';
import { CAP_WINDOW_MS, stuckDelay, type RemediationConfig } from './config.js';

// The remediation policy (SPEC §11): the seed's advice as a pure function beside the lifecycle,
// `(state, input, now, env) → (state, effects)`. It sees what the lifecycle recorded (see
// observe.ts) and answers what to do; the remediation service carries the effects out.

/** Disconnect classes wagate never retries by itself: fighting WhatsApp makes a ban likelier. */
export const NEVER_RETRY = ['replaced', 'banned', 'forbidden'] as const;

/** What a person can do about each class that wagate leaves alone. */
const CURES: Record<string, string> = {
  replaced: 'another WhatsApp Web session took over; close it, then start the channel',
  banned: 'WhatsApp banned the number; wait for the ban to end or appeal, then start the channel',
  forbidden: 'WhatsApp refused this device; check the account on the phone, then start the channel',
  sync_error: 'log out (POST /users/logout) and pair again; wagate never logs out by itself',
};

/** One action remediation took (or, in alert mode, would have taken). */
export interface ActionRecord {
  at: number;
  action: Exclude<RemediationAction, 'none'>;
  reason: string;
  detail: string;
  /** False in alert mode: announced, not done. */
  taken: boolean;
}

/** What remediation knows about one channel. Plain data: copied, never mutated in place. */
export interface RemediationState {
  /** Actions within the cap window, oldest first. */
  actions: ActionRecord[];
  /** Every action since the last hand-back, for the `needs_attention` story. */
  tried: ActionRecord[];
  /** Drops out of AUTH since the last action (a fresh run counts afresh). */
  drops: number[];
  /** When the last flapping restart ran: flapping again within the window escalates to a move. */
  flapRestartAt: number | null;
  /** Stuck starts in a row (the restart backoff's exponent); AUTH resets it. */
  stuckStreak: number;
  /** A restart waiting for its backoff or cool-down. */
  pending: { at: number; reason: string } | null;
  /** `needs_attention` was raised: hands off until an operator acts on the channel. */
  handedOver: boolean;
}

/** What the lifecycle recorded, in the policy's terms. */
export type RemediationInput =
  | { type: 'drop' }
  | { type: 'stuck'; phase: 'INIT' | 'LAUNCH' }
  | { type: 'error'; reason: string; detail: string | null }
  | { type: 'sync_error' }
  | { type: 'logged_out' }
  | { type: 'auth' }
  /** An operator started, restarted, stopped or logged out the channel: a person has it now. */
  | { type: 'operator' }
  /** The pending restart's time came. */
  | { type: 'due' };

export type RemediationEffect =
  /** A fresh run of the channel (a partner "Reload"). */
  | { kind: 'restart' }
  | { kind: 'move_proxy'; from: string; to: string }
  | { kind: 'quarantine'; proxyId: string; reason: string }
  /** A note in the status history. */
  | { kind: 'note'; reason: string; detail: string }
  | { kind: 'alert'; alert: Alert }
  /** Deliver `due` at `at` (replaces any earlier schedule). */
  | { kind: 'schedule'; at: number }
  | { kind: 'cancel' };

/** The channel's place in the proxy pool, as the service sees it at the time of the input. */
export interface ProxyContext {
  /** The channel's proxy setting is `auto`: wagate picks it from the pool. */
  auto: boolean;
  /** The pool proxy the channel is on. */
  current: { id: string; label: string; unhealthy: boolean; othersFlapping: number } | null;
  /** The healthiest other proxy it may move to (same region when one is given). */
  next: { id: string; label: string } | null;
}

export interface RemediationEnv {
  config: RemediationConfig;
  proxy: ProxyContext;
}

export interface RemediationStep {
  state: RemediationState;
  effects: RemediationEffect[];
}

/** A channel remediation has not acted on. */
export function initialRemediation(): RemediationState {
  return { actions: [], tried: [], drops: [], flapRestartAt: null, stuckStreak: 0, pending: null, handedOver: false };
}

/** The policy. Pure: no timers, I/O or clock inside. */
export function decide(state: RemediationState, input: RemediationInput, now: number, env: RemediationEnv): RemediationStep {
  if (env.config.mode === 'off') return { state, effects: [] };
  const d = new Decision(state, now, env);
  switch (input.type) {
    case 'drop':
      d.onDrop();
      break;
    case 'stuck':
      d.scheduleRestart(`stuck_${input.phase.toLowerCase()}`, `${input.phase} stuck past its watchdog`, stuckDelay(env.config.stuckBackoff, d.state.stuckStreak + 1), true);
      break;
    case 'error':
      d.onError(input.reason, input.detail);
      break;
    case 'sync_error':
      d.handOver('sync_error', 'SYNC_ERROR: sending works, reading does not', CURES.sync_error!);
      break;
    case 'logged_out':
      d.cancelPending();
      break;
    case 'auth':
      d.state.stuckStreak = 0;
      d.cancelPending();
      break;
    case 'operator':
      d.cancelPending();
      Object.assign(d.state, { tried: [], actions: [], drops: [], flapRestartAt: null, stuckStreak: 0, handedOver: false });
      break;
    case 'due':
      if (d.state.pending && d.state.pending.at <= now) {
        d.state.pending = null;
        d.effects.push({ kind: 'restart' });
      }
      break;
  }
  return { state: d.state, effects: d.effects };
}

/** Accumulates the next state and the effects of one decision. */
class Decision {
  state: RemediationState;
  effects: RemediationEffect[] = [];

  constructor(
    prev: RemediationState,
    private readonly now: number,
    private readonly env: RemediationEnv,
  ) {
    this.state = { ...prev, actions: prev.actions.filter((a) => a.at > now - CAP_WINDOW_MS), tried: [...prev.tried], drops: [...prev.drops] };
  }

  private get config(): RemediationConfig {
    return this.env.config;
  }

  private get acting(): boolean {
    return this.config.mode === 'act';
  }

  onDrop(): void {
    const s = this.state;
    const { drops, windowMs } = this.config.flap;
    s.drops = [...s.drops.filter((t) => t > this.now - windowMs), this.now];
    if (s.drops.length < drops) return;
    const detail = `${s.drops.length} drops out of AUTH within ${Math.round(windowMs / 60_000)} min`;
    s.drops = [];
    const again = s.flapRestartAt !== null && this.now - s.flapRestartAt <= windowMs;
    if (!again) {
      if (!this.allowed('flapping', detail)) return;
      s.flapRestartAt = this.now;
      this.take({ action: 'restart', reason: 'flapping', detail }, 'if it flaps again within the window, move it to another healthy proxy');
      this.carryOut({ kind: 'restart' });
      return;
    }
    this.onFlappingAgain(`${detail}, again after a restart`);
  }

  /** A fresh run did not cure the flapping: the proxy is the suspect. */
  private onFlappingAgain(detail: string): void {
    if (!this.allowed('flapping', detail)) return;
    const { auto, current, next } = this.env.proxy;
    if (!auto || !current) {
      const cure = current || !auto
        ? "change the proxy's IP or set proxy \"auto\" to use the pool, then restart the channel"
        : 'add a healthy proxy to the pool, then restart the channel';
      this.handOver('flapping', detail, cure);
      return;
    }
    if (!next) {
      this.handOver('flapping', `${detail}; no healthy proxy is left in the pool`, 'add or release a healthy proxy, then restart the channel');
      return;
    }
    this.state.flapRestartAt = this.now;
    if (current.unhealthy || current.othersFlapping > 0) {
      const why = current.othersFlapping > 0 ? `${current.othersFlapping} other channel(s) flap on it too` : 'its drops per hour are over the limit';
      this.take({ action: 'quarantine_proxy', reason: 'flapping', detail: `proxy ${current.label}: ${why}` }, 'it gets no new channels until it is released (after a probe)', false);
      this.carryOut({ kind: 'quarantine', proxyId: current.id, reason: `flapping: ${why}` });
    }
    this.take({ action: 'move_proxy', reason: 'flapping', detail: `${detail}; from proxy ${current.label} to ${next.label}` }, 'a fresh run on the new proxy');
    this.carryOut({ kind: 'move_proxy', from: current.id, to: next.id }, { kind: 'restart' });
  }

  onError(reason: string, detail: string | null): void {
    if ((NEVER_RETRY as readonly string[]).includes(reason)) {
      this.cancelPending();
      this.handOver(reason, `ERROR ${reason}${detail ? `: ${detail}` : ''}; never retried automatically`, CURES[reason]!);
    } else if (reason === 'reconnect_failed') {
      this.scheduleRestart('reconnect_failed', detail ?? 'every reconnect attempt failed', this.config.cooldownMs, false);
    }
  }

  /** A restart after `delayMs` (a backoff or a cool-down), counted against the cap now. */
  scheduleRestart(reason: string, detail: string, delayMs: number, stuck: boolean): void {
    if (this.state.pending) return;
    if (!this.allowed(reason, detail)) return;
    if (stuck) this.state.stuckStreak += 1;
    const seconds = Math.round(delayMs / 1000);
    this.take({ action: 'restart', reason, detail: `${detail}; restart in ${seconds} s` }, `a fresh run in ${seconds} s`);
    if (!this.acting) return;
    this.state.pending = { at: this.now + delayMs, reason };
    this.carryOut({ kind: 'schedule', at: this.now + delayMs });
  }

  /** Effects that change the channel or the pool: only in act mode. */
  private carryOut(...effects: RemediationEffect[]): void {
    if (this.acting) this.effects.push(...effects);
  }

  cancelPending(): void {
    if (!this.state.pending) return;
    this.state.pending = null;
    this.effects.push({ kind: 'cancel' });
  }

  /** Whether one more action fits under the cap; when it does not, the channel is handed over. */
  private allowed(reason: string, detail: string): boolean {
    if (this.state.handedOver) return false;
    if (this.state.actions.length < this.config.maxActionsPerHour) return true;
    this.handOver(reason, `${detail}; the cap of ${this.config.maxActionsPerHour} actions per hour is reached`, 'look at the channel and its proxy; an operator restart hands it back to remediation');
    return false;
  }

  /** Records an action (a note and a `remediation` alert); in alert mode it is only announced. */
  private take(record: Omit<ActionRecord, 'at' | 'taken'>, next: string, counts = true): void {
    const taken = this.acting;
    const entry: ActionRecord = { ...record, at: this.now, taken };
    if (counts) this.state.actions.push(entry);
    this.state.tried.push(entry);
    const verb = taken ? record.action : `would ${record.action} (mode alert)`;
    const detail = `${verb}: ${record.reason}: ${record.detail}`;
    if (taken) this.effects.push({ kind: 'note', reason: 'remediation', detail: `${detail}; next: ${next}` });
    this.alert('remediation', detail, { action: record.action, reason: record.reason, next: taken ? next : 'nothing: remediation mode is alert', taken });
  }

  /** Hands the channel to a person: one `needs_attention` saying what was tried and what cures it. */
  handOver(reason: string, detail: string, cure: string): void {
    if (this.state.handedOver) return;
    this.state.handedOver = true;
    this.cancelPending();
    const tried = this.state.tried.map(describe);
    const story = `${detail}; tried: ${tried.length > 0 ? tried.join('; ') : 'nothing (wagate does not act on this by itself)'}; to do: ${cure}`;
    if (this.acting) this.effects.push({ kind: 'note', reason: 'needs_attention', detail: story });
    this.alert('needs_attention', story, { action: 'none', reason, next: cure, taken: false, tried });
  }

  private alert(kind: AlertKind, detail: string, extra: Partial<Alert>): void {
    this.effects.push({ kind: 'alert', alert: { kind, detail, at: Math.floor(this.now / 1000), ...extra } });
  }
}

/** `2026-01-01T00:05:00Z restart (flapping: ...)`; an announced-only action says so. */
function describe(a: ActionRecord): string {
  const what = a.taken ? a.action : `${a.action}, announced only (mode alert)`;
  return `${new Date(a.at).toISOString().replace(/\.\d{3}Z$/, 'Z')} ${what} (${a.reason}: ${a.detail})`;
}
