import type { LifecycleDriver} from '../channel/lifecycle.driver.js';
import { ALICE, driverIn, type DriverOptions, type Situation } from '../channel/lifecycle.driver.js';
import type { Effect, EngineSignal, LifecycleInput } from '../channel/lifecycle.js';
import type { Alert, AlertKind } from '@wagate/protocol';
import { DEFAULT_REMEDIATION, type RemediationConfig } from './config.js';
import { observe } from './observe.js';
import { decide, initialRemediation, type ProxyContext, type RemediationEffect, type RemediationState } from './policy.js';

// Test support: the pure lifecycle and the pure remediation policy together in virtual time,
// with the policy's effects carried out the way the remediation service does. Not used in production.

export interface RemediatedOptions extends DriverOptions {
  remediation?: Partial<RemediationConfig>;
  proxy?: ProxyContext;
}

/** A channel's lifecycle with remediation acting on it. */
export class RemediatedChannel {
  readonly life: LifecycleDriver;
  policy: RemediationState = initialRemediation();
  readonly config: RemediationConfig;
  /** The pool as the service would describe it; tests change it as proxies come and go. */
  proxy: ProxyContext;
  pendingAt: number | null = null;
  /** Every policy effect so far, in order. */
  readonly done: RemediationEffect[] = [];
  /** Every lifecycle effect so far, in order (the policy's restarts included). */
  readonly lifeEffects: Effect[] = [];

  constructor(situation: Situation, opts: RemediatedOptions = {}) {
    this.life = driverIn(situation, opts);
    this.config = { ...DEFAULT_REMEDIATION, ...opts.remediation };
    this.proxy = opts.proxy ?? { auto: false, current: null, next: null };
  }

  get now(): number {
    return this.life.now;
  }

  /** A lifecycle input, with remediation reacting to what it recorded. */
  send(input: LifecycleInput): void {
    this.react(this.life.send(input));
  }

  engine(signal: EngineSignal): void {
    this.react(this.life.engine(signal));
  }

  /**
   * A transient drop out of AUTH that heals: the backoff passes and the engine opens again. When
   * remediation restarts the channel on the drop, the fresh run is left in INIT (see openAgain).
   */
  blip(): void {
    this.engine({ type: 'close', reason: 'transient', detail: 'socket closed' });
    const reconnect = this.life.timers.get('reconnect');
    if (!reconnect) return;
    this.advanceTo(reconnect.at);
    this.openAgain();
  }

  /** Brings a fresh run (after a restart) to AUTH. */
  openAgain(): void {
    this.engine({ type: 'launching' });
    this.engine({ type: 'open', user: ALICE });
  }

  /** Moves virtual time on, firing lifecycle timers and the policy's pending restart in due order. */
  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const life = [...this.life.timers].sort((a, b) => a[1].at - b[1].at)[0];
      const lifeAt = life?.[1].at ?? Infinity;
      const policyAt = this.pendingAt ?? Infinity;
      if (Math.min(lifeAt, policyAt) > target) break;
      if (lifeAt <= policyAt) {
        this.react(this.life.fire(life![0]));
      } else {
        this.life.advance(policyAt - this.now);
        this.pendingAt = null;
        this.apply(decide(this.policy, { type: 'due' }, this.now, { config: this.config, proxy: this.proxy }));
      }
    }
    this.life.advance(target - this.now);
  }

  /** The alerts remediation raised, optionally of one kind. */
  alerts(kind?: AlertKind): Alert[] {
    return this.done.flatMap((e) => (e.kind === 'alert' && (!kind || e.alert.kind === kind) ? [e.alert] : []));
  }

  /** The kinds of policy effects so far, alerts and notes named by their kind/reason. */
  actions(): string[] {
    return this.done.flatMap((e) => {
      if (e.kind === 'alert') return [`alert:${e.alert.kind}`];
      if (e.kind === 'note') return [];
      return [e.kind];
    });
  }

  private react(effects: Effect[]): void {
    this.lifeEffects.push(...effects);
    for (const input of observe(effects)) this.apply(decide(this.policy, input, this.now, { config: this.config, proxy: this.proxy }));
  }

  private apply({ state, effects }: { state: RemediationState; effects: RemediationEffect[] }): void {
    this.policy = state;
    this.done.push(...effects);
    for (const e of effects) {
      if (e.kind === 'schedule') this.pendingAt = e.at;
      else if (e.kind === 'cancel') this.pendingAt = null;
      else if (e.kind === 'move_proxy') this.proxy = { ...this.proxy, current: this.proxy.next && { ...this.proxy.next, unhealthy: false, othersFlapping: 0 }, next: null };
      else if (e.kind === 'restart') this.react(this.life.send({ type: 'restart', reason: 'remediation' }));
    }
  }
}
