import { describe, expect, it } from 'vitest';
import { DEFAULT_LIFECYCLE } from '../channel/config.js';
import { path, records } from '../channel/lifecycle.driver.js';
import { DEFAULT_REMEDIATION, stuckDelay } from './config.js';
import { decide, initialRemediation, type ProxyContext } from './policy.js';
import { RemediatedChannel } from './remediation.driver.js';

// SPEC §11, rule by rule, with the pure lifecycle and the pure policy in virtual time.

const POOL: ProxyContext = {
  auto: true,
  current: { id: 'px_bad', label: 'bad', unhealthy: false, othersFlapping: 0 },
  next: { id: 'px_good', label: 'good', unhealthy: false, othersFlapping: 0 } as ProxyContext['next'],
};

/** Three blips a minute apart: one flapping episode. */
function flap(c: RemediatedChannel): void {
  for (let i = 0; i < 3; i++) {
    c.advance(60_000);
    c.blip();
  }
}

describe('flapping', () => {
  it('restarts the channel (a fresh run) on the first flapping, with a note and a remediation alert', () => {
    const c = new RemediatedChannel('AUTH');
    const startAt = c.life.state.startAt;
    flap(c);
    expect(c.actions()).toEqual(['alert:remediation', 'restart']);
    const [alert] = c.alerts('remediation');
    expect(alert).toMatchObject({ action: 'restart', reason: 'flapping', taken: true, next: expect.stringContaining('another healthy proxy') });
    expect(c.done).toContainEqual({ kind: 'note', reason: 'remediation', detail: expect.stringMatching(/^restart: flapping: 3 drops.*; next: /) });
    // The third drop moved AUTH → INIT; the restart begins a fresh run from there.
    expect(records(c.lifeEffects).slice(-2)).toMatchObject([
      { from: 'AUTH', to: 'INIT', reason: 'connection_lost' },
      { from: 'INIT', to: 'INIT', reason: 'remediation' },
    ]);
    expect(c.life.state.startAt).toBeGreaterThan(startAt!);
    c.openAgain();
    expect(c.life.state.status).toBe('AUTH');
  });

  it('moves a pool channel that flaps again within the window to the next healthy proxy', () => {
    const c = new RemediatedChannel('AUTH', { proxy: POOL });
    flap(c);
    c.openAgain();
    flap(c);
    expect(c.actions()).toEqual(['alert:remediation', 'restart', 'alert:remediation', 'move_proxy', 'restart']);
    expect(c.done).toContainEqual({ kind: 'move_proxy', from: 'px_bad', to: 'px_good' });
    expect(c.alerts('remediation')[1]).toMatchObject({ action: 'move_proxy', detail: expect.stringContaining('from proxy bad to good') });
    expect(c.proxy.current?.id).toBe('px_good');
  });

  it('quarantines the old proxy when other channels flap on it too', () => {
    const c = new RemediatedChannel('AUTH', { proxy: { ...POOL, current: { ...POOL.current!, othersFlapping: 2 } } });
    flap(c);
    c.openAgain();
    flap(c);
    expect(c.actions().slice(2)).toEqual(['alert:remediation', 'quarantine', 'alert:remediation', 'move_proxy', 'restart']);
    expect(c.done).toContainEqual({ kind: 'quarantine', proxyId: 'px_bad', reason: expect.stringContaining('2 other channel(s)') });
  });

  it('quarantines the old proxy when its own health is bad', () => {
    const c = new RemediatedChannel('AUTH', { proxy: { ...POOL, current: { ...POOL.current!, unhealthy: true } } });
    flap(c);
    c.openAgain();
    flap(c);
    expect(c.done.filter((e) => e.kind === 'quarantine')).toHaveLength(1);
  });

  it('restarts again (no move) when the second flapping comes after the window', () => {
    const c = new RemediatedChannel('AUTH', { proxy: POOL });
    flap(c);
    c.openAgain();
    c.advance(DEFAULT_REMEDIATION.flap.windowMs);
    flap(c);
    expect(c.actions()).toEqual(['alert:remediation', 'restart', 'alert:remediation', 'restart']);
  });

  it('counts only drops since the last action: two drops after a restart are not flapping', () => {
    const c = new RemediatedChannel('AUTH', { proxy: POOL });
    flap(c);
    c.openAgain();
    c.advance(60_000);
    c.blip();
    c.advance(60_000);
    c.blip();
    expect(c.actions()).toEqual(['alert:remediation', 'restart']);
  });

  it('hands over when no healthy proxy is left', () => {
    const c = new RemediatedChannel('AUTH', { proxy: { ...POOL, next: null } });
    flap(c);
    c.openAgain();
    flap(c);
    const [handover] = c.alerts('needs_attention');
    expect(handover).toMatchObject({ action: 'none', reason: 'flapping', detail: expect.stringContaining('no healthy proxy is left') });
    expect(handover!.tried).toEqual([expect.stringMatching(/restart \(flapping: 3 drops/)]);
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(1);
  });

  it('hands over a channel whose proxy is set by hand when it flaps again (a person changes the IP)', () => {
    const c = new RemediatedChannel('AUTH');
    flap(c);
    c.openAgain();
    flap(c);
    expect(c.alerts('needs_attention')[0]!.detail).toMatch(/change the proxy's IP/);
  });
});

describe('stuck starts', () => {
  it('restarts a channel whose INIT hung past the watchdog, after the backoff', () => {
    const c = new RemediatedChannel('INIT');
    c.advance(c.life.config.initTimeoutMs);
    expect(c.life.state).toMatchObject({ status: 'ERROR', reason: 'init_timeout' });
    expect(c.alerts('remediation')[0]).toMatchObject({ action: 'restart', reason: 'stuck_init', detail: expect.stringContaining('restart in 5 s') });
    c.advance(stuckDelay(DEFAULT_REMEDIATION.stuckBackoff, 1) - 1);
    expect(c.life.state.status).toBe('ERROR');
    c.advance(1);
    expect(c.life.state).toMatchObject({ status: 'INIT', reason: 'remediation' });
  });

  it('doubles the delay for each stuck start in a row and resets it at AUTH', () => {
    const c = new RemediatedChannel('INIT', { remediation: { maxActionsPerHour: 10 } });
    const restartsAt: number[] = [];
    for (let i = 0; i < 3; i++) {
      c.advance(c.life.config.initTimeoutMs);
      const errorAt = c.now;
      c.advanceTo(c.pendingAt!);
      restartsAt.push(c.now - errorAt);
    }
    expect(restartsAt).toEqual([5_000, 10_000, 20_000]);
    c.openAgain();
    expect(c.policy.stuckStreak).toBe(0);
  });

  it('restarts a LAUNCH that hung past its watchdog, and cancels the restart when the lifecycle retry reaches AUTH first', () => {
    const c = new RemediatedChannel('LAUNCH', { remediation: { stuckBackoff: { baseMs: 30_000, maxMs: 60_000 } } });
    c.advance(c.life.config.launchTimeoutMs);
    expect(c.alerts('remediation')[0]).toMatchObject({ reason: 'stuck_launch' });
    expect(c.pendingAt).toBe(c.now + 30_000);
    c.advanceTo(c.life.timers.get('reconnect')!.at);
    c.openAgain();
    expect(c.done.at(-1)).toEqual({ kind: 'cancel' });
    c.advance(60_000);
    expect(c.done.some((e) => e.kind === 'restart')).toBe(false);
  });

  it('restarts a stuck LAUNCH when the lifecycle retries hang too', () => {
    const c = new RemediatedChannel('LAUNCH', { remediation: { stuckBackoff: { baseMs: 2_000, maxMs: 60_000 } } });
    c.advance(c.life.config.launchTimeoutMs);
    c.advance(2_000);
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(1);
    expect(c.life.state).toMatchObject({ status: 'INIT', reason: 'remediation', failures: 0 });
  });
});

describe('ERROR reconnect_failed', () => {
  it('restarts after the cool-down', () => {
    const c = new RemediatedChannel('INIT_BACKOFF', { config: { ...DEFAULT_LIFECYCLE, reconnect: { ...DEFAULT_LIFECYCLE.reconnect, maxFailures: 2 } } });
    for (let i = 0; i < 2; i++) {
      c.advanceTo(c.life.timers.get('reconnect')!.at);
      c.engine({ type: 'close', reason: 'transient', detail: 'refused' });
    }
    expect(c.life.state).toMatchObject({ status: 'ERROR', reason: 'reconnect_failed' });
    expect(c.alerts('remediation')[0]).toMatchObject({ action: 'restart', reason: 'reconnect_failed', detail: expect.stringContaining('restart in 300 s') });
    c.advance(DEFAULT_REMEDIATION.cooldownMs - 1);
    expect(c.life.state.status).toBe('ERROR');
    c.advance(1);
    expect(c.life.state).toMatchObject({ status: 'INIT', reason: 'remediation' });
  });

  it('retries after each cool-down up to the cap, then hands over naming each restart, and stops', () => {
    const c = new RemediatedChannel('INIT_BACKOFF', { config: { ...DEFAULT_LIFECYCLE, reconnect: { ...DEFAULT_LIFECYCLE.reconnect, maxFailures: 2 } } });
    /** The run fails every attempt until the lifecycle gives up with ERROR reconnect_failed. */
    const failRun = () => {
      for (let i = 0; i < 5 && c.life.state.status !== 'ERROR'; i++) {
        const retry = c.life.timers.get('reconnect');
        if (retry) c.advanceTo(retry.at);
        c.engine({ type: 'close', reason: 'transient', detail: 'refused' });
      }
      expect(c.life.state).toMatchObject({ status: 'ERROR', reason: 'reconnect_failed' });
    };
    for (let run = 0; run < 4; run++) {
      failRun();
      c.advance(DEFAULT_REMEDIATION.cooldownMs);
    }
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(3);
    const [handover] = c.alerts('needs_attention');
    expect(handover).toMatchObject({ reason: 'reconnect_failed', detail: expect.stringContaining('the cap of 3 actions per hour is reached') });
    expect(handover!.tried).toHaveLength(3);
    expect(handover!.tried!.every((t) => t.includes('restart (reconnect_failed'))).toBe(true);
    c.advance(24 * 3600_000);
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(3);
    expect(c.life.state.status).toBe('ERROR');
  });
});

describe('never retried', () => {
  it.each(['replaced', 'banned', 'forbidden'] as const)('ERROR %s is handed over and never restarted', (reason) => {
    const c = new RemediatedChannel('AUTH');
    c.engine({ type: 'close', reason, detail: 'from WhatsApp' });
    expect(c.life.state).toMatchObject({ status: 'ERROR', reason });
    const [handover] = c.alerts('needs_attention');
    expect(handover).toMatchObject({ reason, tried: [], detail: expect.stringContaining('never retried automatically') });
    c.advance(24 * 3600_000);
    expect(c.done.filter((e) => e.kind === 'restart' || e.kind === 'schedule')).toEqual([]);
    expect(c.life.state.status).toBe('ERROR');
  });

  it('a pending restart is dropped when the channel is replaced meanwhile', () => {
    const c = new RemediatedChannel('LAUNCH', { remediation: { stuckBackoff: { baseMs: 30_000, maxMs: 60_000 } } });
    c.advance(c.life.config.launchTimeoutMs);
    c.advanceTo(c.life.timers.get('reconnect')!.at);
    c.engine({ type: 'close', reason: 'replaced', detail: 'conflict' });
    c.advance(60_000);
    expect(c.done.some((e) => e.kind === 'restart')).toBe(false);
    expect(c.alerts('needs_attention')).toHaveLength(1);
  });

  it('a logout from the phone is left to the lifecycle (a new pairing round), never to remediation', () => {
    const c = new RemediatedChannel('AUTH');
    c.engine({ type: 'close', reason: 'logged_out', detail: 'removed' });
    expect(path(c.lifeEffects).slice(-1)).toEqual(['INIT']);
    expect(c.done).toEqual([]);
  });

  it('SYNC_ERROR raises needs_attention with the cure and never logs out', () => {
    const c = new RemediatedChannel('AUTH');
    c.engine({ type: 'sync_error', detail: 'app state sync failed' });
    const [handover] = c.alerts('needs_attention');
    expect(handover).toMatchObject({ reason: 'sync_error', next: expect.stringContaining('log out') });
    expect(c.life.effects.some((e) => e.kind === 'logout' || e.kind === 'wipe_credentials')).toBe(false);
    expect(c.done.filter((e) => e.kind === 'restart')).toEqual([]);
  });
});

describe('the cap', () => {
  it('stops after 3 actions in an hour and hands over, naming every action tried', () => {
    const c = new RemediatedChannel('INIT');
    for (let i = 0; i < 4; i++) {
      c.advance(c.life.config.initTimeoutMs);
      if (c.pendingAt) c.advanceTo(c.pendingAt);
    }
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(3);
    const [handover] = c.alerts('needs_attention');
    expect(handover!.detail).toContain('the cap of 3 actions per hour is reached');
    expect(handover!.tried).toHaveLength(3);
    expect(handover!.tried!.every((t) => t.includes('restart (stuck_init'))).toBe(true);
    expect(c.life.state.status).toBe('ERROR');
    expect(c.pendingAt).toBeNull();
  });

  it('raises needs_attention once and then stays hands off until an operator acts', () => {
    const c = new RemediatedChannel('AUTH', { remediation: { maxActionsPerHour: 1 } });
    flap(c);
    c.openAgain();
    c.advance(DEFAULT_REMEDIATION.flap.windowMs);
    flap(c);
    c.advance(DEFAULT_REMEDIATION.flap.windowMs);
    flap(c);
    expect(c.actions()).toEqual(['alert:remediation', 'restart', 'alert:needs_attention']);
    c.send({ type: 'restart', reason: 'operator_restart' });
    c.openAgain();
    flap(c);
    expect(c.actions().slice(3)).toEqual(['alert:remediation', 'restart']);
  });

  it('hands over at the cap before it would move a channel that flaps again', () => {
    const c = new RemediatedChannel('AUTH', { remediation: { maxActionsPerHour: 1 }, proxy: POOL });
    flap(c);
    c.openAgain();
    flap(c);
    expect(c.actions()).toEqual(['alert:remediation', 'restart', 'alert:needs_attention']);
    expect(c.alerts('needs_attention')[0]).toMatchObject({ detail: expect.stringContaining('cap of 1 actions per hour'), tried: [expect.stringContaining('restart (flapping')] });
  });

  it('counts in a rolling hour: actions older than an hour free their place', () => {
    const c = new RemediatedChannel('AUTH', { remediation: { maxActionsPerHour: 1 } });
    flap(c);
    c.openAgain();
    c.advance(61 * 60_000);
    flap(c);
    expect(c.done.filter((e) => e.kind === 'restart')).toHaveLength(2);
    expect(c.alerts('needs_attention')).toEqual([]);
  });
});

describe('modes', () => {
  it('alert: announces what it would do and does nothing', () => {
    const c = new RemediatedChannel('AUTH', { remediation: { mode: 'alert' }, proxy: POOL });
    flap(c);
    flap(c);
    expect(c.alerts('remediation').map((a) => [a.action, a.taken])).toEqual([['restart', false], ['move_proxy', false]]);
    expect(c.alerts('remediation')[0]!.detail).toMatch(/^would restart \(mode alert\)/);
    expect(c.done.filter((e) => ['restart', 'move_proxy', 'quarantine', 'schedule', 'note'].includes(e.kind))).toEqual([]);
  });

  it('off: nothing at all', () => {
    const c = new RemediatedChannel('AUTH', { remediation: { mode: 'off' } });
    flap(c);
    c.engine({ type: 'close', reason: 'banned', detail: 'x' });
    expect(c.done).toEqual([]);
  });

  it('a due input without a pending restart does nothing', () => {
    const step = decide(initialRemediation(), { type: 'due' }, 0, { config: DEFAULT_REMEDIATION, proxy: POOL });
    expect(step.effects).toEqual([]);
  });
});
