import type { Clock, TimerHandle } from '../channel/clock.js';
import type { Effect } from '../channel/lifecycle.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import type { Alert, ChannelEvent, HistoryEntry } from '@wagate/protocol';
import { channelSettings } from '../webhooks/outbox.js';
import type { RemediationConfig } from './config.js';
import { observe } from './observe.js';
import { decide, initialRemediation, type ProxyContext, type RemediationEffect, type RemediationInput, type RemediationState } from './policy.js';

/** The proxy pool as remediation needs it (see proxies/pool.ts). */
export interface ProxySeam {
  /** Where the channel stands in the pool now. */
  context(channelId: string, proxySetting: string): ProxyContext;
  /** Puts the channel on another pool proxy; its next connection uses it. */
  move(channelId: string, to: string): Promise<void>;
  quarantine(proxyId: string, reason: string): Promise<unknown>;
}

/** Outcomes the metrics count: an action carried out, announced only (mode alert), or handed over. */
export type ActionOutcome = 'taken' | 'announced' | 'handed_over';

export interface RemediationServiceDeps {
  clock: Clock;
  /** The gateway-wide defaults; a channel's `remediation` setting overrides the mode and the cap. */
  defaults: RemediationConfig;
  find(channelId: string): ChannelRuntime | undefined;
  proxies?: ProxySeam;
  /** Logs what remediation did (structured; never a token or a body). */
  log?: (fields: Record<string, unknown>, message: string) => void;
  onError?: (channelId: string, err: unknown) => void;
  onAction?: (action: string, outcome: ActionOutcome) => void;
}

const NO_POOL: ProxySeam['context'] = (_id, setting) => ({ auto: setting === 'auto', current: null, next: null });

/**
 * Runs the remediation policy for every channel: it sees each committed lifecycle step, asks the
 * policy, and carries out the answer (notes and alerts through the channel's outbox, restarts
 * through its lifecycle, moves and quarantines through the proxy pool, timers on the clock).
 */
export class RemediationService {
  private states = new Map<string, RemediationState>();
  private timers = new Map<string, TimerHandle>();

  constructor(private readonly deps: RemediationServiceDeps) {}

  /** The policy's state of one channel (for tests and the dashboard). */
  stateOf(channelId: string): RemediationState {
    return this.states.get(channelId) ?? initialRemediation();
  }

  /** The settings that apply to a channel: its own `remediation` over the gateway's defaults. */
  configFor(runtime: ChannelRuntime): RemediationConfig {
    const own = channelSettings(runtime.record.settings).remediation;
    return { ...this.deps.defaults, mode: own?.mode ?? this.deps.defaults.mode, maxActionsPerHour: own?.max_actions_per_hour ?? this.deps.defaults.maxActionsPerHour };
  }

  /** A committed lifecycle step of a channel (the runtime's onStep). */
  step(channelId: string, effects: Effect[]): void {
    const inputs = observe(effects);
    if (inputs.length === 0) return;
    const runtime = this.deps.find(channelId);
    if (!runtime) return;
    for (const input of inputs) this.feed(runtime, input);
  }

  /** Forgets a deleted channel. */
  forget(channelId: string): void {
    this.clearTimer(channelId);
    this.states.delete(channelId);
  }

  /** Stops every timer (gateway shutdown). */
  close(): void {
    for (const id of [...this.timers.keys()]) this.clearTimer(id);
  }

  private feed(runtime: ChannelRuntime, input: RemediationInput): void {
    const config = this.configFor(runtime);
    const proxySetting = channelSettings(runtime.record.settings).proxy;
    const proxy = (this.deps.proxies?.context.bind(this.deps.proxies) ?? NO_POOL)(runtime.id, proxySetting);
    const { state, effects } = decide(this.stateOf(runtime.id), input, this.deps.clock.now(), { config, proxy });
    this.states.set(runtime.id, state);
    if (effects.length > 0) void this.carryOut(runtime, effects).catch((err: unknown) => this.deps.onError?.(runtime.id, err));
  }

  /** Notes and alerts go first, in one commit; then the pool changes; then the restart. */
  private async carryOut(runtime: ChannelRuntime, effects: RemediationEffect[]): Promise<void> {
    const notes = effects.flatMap((e) => (e.kind === 'note' ? [e] : []));
    const alerts = effects.flatMap((e) => (e.kind === 'alert' ? [e.alert] : []));
    for (const alert of alerts) this.report(runtime.id, alert);
    const writing =
      notes.length + alerts.length > 0
        ? runtime.commitSide(() => {
            const s = runtime.state.status;
            const at = this.deps.clock.now();
            const history: HistoryEntry[] = notes.map((n) => ({ at, from: s, to: s, reason: n.reason, detail: n.detail }));
            const events: ChannelEvent[] = alerts.map((alert) => ({ name: 'alerts.post', payload: { alert } }));
            return { history, events };
          })
        : Promise.resolve(null);
    for (const e of effects) {
      if (e.kind === 'schedule') this.schedule(runtime.id, e.at);
      else if (e.kind === 'cancel') this.clearTimer(runtime.id);
      else if (e.kind === 'quarantine') await this.deps.proxies?.quarantine(e.proxyId, e.reason);
      else if (e.kind === 'move_proxy') await this.deps.proxies?.move(runtime.id, e.to);
      else if (e.kind === 'restart' && !runtime.record.stopped) void runtime.send({ type: 'restart', reason: 'remediation' });
    }
    await writing;
  }

  private report(channelId: string, alert: Alert): void {
    const outcome: ActionOutcome = alert.kind === 'needs_attention' ? 'handed_over' : alert.taken ? 'taken' : 'announced';
    this.deps.onAction?.(alert.action ?? 'none', outcome);
    this.deps.log?.({ channelId, kind: alert.kind, action: alert.action, reason: alert.reason, taken: alert.taken, detail: alert.detail }, `remediation: ${alert.kind}`);
  }

  private schedule(channelId: string, at: number): void {
    this.clearTimer(channelId);
    const handle = this.deps.clock.setTimeout(() => {
      this.timers.delete(channelId);
      const runtime = this.deps.find(channelId);
      if (runtime) this.feed(runtime, { type: 'due' });
    }, Math.max(0, at - this.deps.clock.now()));
    this.timers.set(channelId, handle);
  }

  private clearTimer(channelId: string): void {
    const handle = this.timers.get(channelId);
    if (handle) this.deps.clock.clearTimeout(handle);
    this.timers.delete(channelId);
  }
}
