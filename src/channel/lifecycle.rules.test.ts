import { describe, expect, it } from 'vitest';
import { DEFAULT_LIFECYCLE, backoffDelay, type LifecycleConfig } from './config.js';
import { ALICE, LifecycleDriver, alerts, connects, driverIn, kinds, path, records } from './lifecycle.driver.js';
import { isIdle, qrPayload } from './lifecycle.js';

// SPEC §1 "Rules the lifecycle enforces": watchdogs, disconnect classes, reconnect policy,
// pairing rounds, flapping, and the `reconnecting` flag behind the send hold.

const cfg = DEFAULT_LIFECYCLE;
const withReconnect = (r: Partial<LifecycleConfig['reconnect']>): LifecycleConfig => ({ ...cfg, reconnect: { ...cfg.reconnect, ...r } });
const close = (d: LifecycleDriver, reason: 'transient' | 'restart_required' | 'replaced' | 'banned' | 'forbidden' | 'logged_out', detail = 'closed') =>
  d.engine({ type: 'close', reason, detail });

describe('INIT watchdog', () => {
  it('fails with ERROR init_timeout and alerts stuck_init when INIT lasts over 45 s', () => {
    const d = driverIn('INIT');
    expect(d.advance(cfg.initTimeoutMs - 1)).toEqual([]);
    const fired = d.advance(1);
    expect(alerts(fired)).toEqual([{ kind: 'stuck_init', detail: expect.stringContaining('45000'), at: Math.floor(d.now / 1000) }]);
    expect(records(fired)).toEqual([{ at: d.now, from: 'INIT', to: 'ERROR', reason: 'init_timeout', detail: expect.any(String) }]);
    expect(kinds(fired)).toContain('disconnect');
    expect(d.state).toMatchObject({ status: 'ERROR', connecting: false });
    expect(d.timers.size).toBe(0);
  });

  it('lets a channel that launches within 45 s run on', () => {
    const d = driverIn('INIT');
    d.advance(cfg.initTimeoutMs - 1);
    d.engine({ type: 'launching' });
    expect(d.advance(cfg.launchTimeoutMs - 1)).toEqual([]);
    expect(d.state.status).toBe('LAUNCH');
  });

  it('watches the INIT of every reconnect attempt too', () => {
    const d = driverIn('INIT_BACKOFF');
    d.fire('reconnect');
    d.advance(cfg.initTimeoutMs);
    expect(d.state).toMatchObject({ status: 'ERROR', reason: 'init_timeout' });
  });
});

describe('LAUNCH watchdog', () => {
  it('abandons a LAUNCH that lasts over 60 s and retries under the reconnect policy', () => {
    const d = driverIn('LAUNCH');
    const stuckAttempt = d.state.attempt;
    expect(d.advance(cfg.launchTimeoutMs - 1)).toEqual([]);
    const fired = d.advance(1);
    expect(alerts(fired, 'stuck_launch')).toHaveLength(1);
    expect(kinds(fired)).toContain('disconnect');
    expect(records(fired)).toEqual([{ at: d.now, from: 'LAUNCH', to: 'INIT', reason: 'connection_lost', detail: expect.stringContaining('launch_timeout') }]);
    expect(d.state).toMatchObject({ connecting: false, failures: 1 });
    expect(d.timers.get('reconnect')?.at).toBe(d.now + backoffDelay(cfg.reconnect, 1, 0.5));

    const retry = d.fire('reconnect');
    expect(connects(retry)).toEqual([d.state.attempt]);
    expect(d.state.attempt).toBeGreaterThan(stuckAttempt);
    expect(path(d.launchAndOpen(ALICE))).toEqual(['LAUNCH', 'AUTH']);
  });

  it('counts hung launches as failures and gives up after maxFailures', () => {
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 3 }) });
    d.send({ type: 'start', reason: 'started' });
    for (let i = 0; i < 2; i++) {
      d.engine({ type: 'launching' });
      d.fire('launch');
      d.fire('reconnect');
    }
    d.engine({ type: 'launching' });
    const last = d.fire('launch');
    expect(alerts(last, 'stuck_launch')).toHaveLength(1);
    expect(d.state).toMatchObject({ status: 'ERROR', reason: 'reconnect_failed', connecting: false });
  });
});

describe('disconnect classification', () => {
  it('reconnects at once on restart_required, with no backoff and no failure counted', () => {
    const d = driverIn('INIT_BACKOFF');
    d.fire('reconnect');
    d.engine({ type: 'launching' });
    const failures = d.state.failures;
    const effects = close(d, 'restart_required', 'stream restart');
    expect(kinds(effects)).toEqual(expect.arrayContaining(['disconnect', 'connect', 'schedule:init']));
    expect(kinds(effects)).not.toContain('schedule:reconnect');
    expect(records(effects)).toEqual([{ at: d.now, from: 'LAUNCH', to: 'INIT', reason: 'restart_required', detail: 'stream restart' }]);
    expect(d.state).toMatchObject({ connecting: true, failures });
  });

  it.each(['replaced', 'banned', 'forbidden'] as const)('goes to ERROR on %s and never reconnects', (reason) => {
    const d = driverIn('AUTH');
    const effects = close(d, reason, `why: ${reason}`);
    expect(records(effects)).toEqual([{ at: d.now, from: 'AUTH', to: 'ERROR', reason, detail: `why: ${reason}` }]);
    expect(connects(effects)).toEqual([]);
    expect(d.timers.size).toBe(0);
    expect(d.advance(86_400_000)).toEqual([]);
    expect(d.state).toMatchObject({ status: 'ERROR', connecting: false, user: ALICE });
  });

  it('keeps logged_out apart from drops: no backoff, no failure, credentials wiped', () => {
    const d = driverIn('AUTH');
    const effects = close(d, 'logged_out');
    expect(kinds(effects)).toEqual(expect.arrayContaining(['wipe_credentials', 'connect']));
    expect(kinds(effects)).not.toContain('schedule:reconnect');
    expect(d.state).toMatchObject({ failures: 0, drops: [] });
  });

  it('backs off on a transient close instead of reconnecting at once', () => {
    const d = driverIn('AUTH');
    const effects = close(d, 'transient', 'timed out');
    expect(connects(effects)).toEqual([]);
    expect(kinds(effects)).toContain('schedule:reconnect');
    expect(records(effects)[0]).toMatchObject({ from: 'AUTH', to: 'INIT', reason: 'connection_lost', detail: expect.stringContaining('timed out') });
  });
});

describe('reconnect policy', () => {
  /** The delays of the retries scheduled while every attempt of a fresh start fails. */
  const failingDelays = (d: LifecycleDriver, count: number): number[] =>
    Array.from({ length: count }, () => {
      close(d, 'transient');
      const delay = (d.timers.get('reconnect')?.at ?? NaN) - d.now;
      d.fire('reconnect');
      return delay;
    });

  it.each([
    [0, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]],
    [0.999_999, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]],
  ])('backs off exponentially up to maxMs with random=%s', (random, expected) => {
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 20 }), random: () => random });
    d.send({ type: 'start', reason: 'started' });
    const delays = failingDelays(d, expected.length);
    expect(delays).toEqual(expected);
    expect(delays).toEqual(expected.map((_, i) => backoffDelay(cfg.reconnect, i + 1, random)));
  });

  it('never shortens the wait between retries after a drop from AUTH, and caps it at maxMs', () => {
    const d = driverIn('AUTH', { config: withReconnect({ maxFailures: 20 }), random: () => 0.999_999 });
    close(d, 'transient');
    const first = (d.timers.get('reconnect')?.at ?? NaN) - d.now;
    d.fire('reconnect');
    const delays = [first, ...failingDelays(d, 10)];
    expect(delays[0]).toBe(backoffDelay(cfg.reconnect, 1, 0.999_999));
    delays.slice(1).forEach((delay, i) => expect(delay).toBeGreaterThanOrEqual(delays[i] ?? Infinity));
    expect(delays.at(-1)).toBe(cfg.reconnect.maxMs);
    expect(Math.max(...delays)).toBe(cfg.reconnect.maxMs);
  });

  it('jitters each delay within [(1 - jitter)·exp, exp]', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 20 }), random });
    d.send({ type: 'start', reason: 'started' });
    const delays = failingDelays(d, 12);
    delays.forEach((delay, i) => {
      const exp = Math.min(cfg.reconnect.maxMs, cfg.reconnect.baseMs * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(exp * (1 - cfg.reconnect.jitter));
      expect(delay).toBeLessThanOrEqual(exp);
    });
    expect(new Set(delays.slice(-5)).size).toBeGreaterThan(1);
  });

  it('runs one attempt at a time: engine events and timers of an older attempt do nothing', () => {
    const d = driverIn('AUTH');
    const old = d.state.attempt;
    close(d, 'transient');
    const waiting = d.state;
    for (const input of [
      { type: 'engine', attempt: old, signal: { type: 'open', user: ALICE } },
      { type: 'engine', attempt: old, signal: { type: 'close', reason: 'transient', detail: 'late' } },
      { type: 'engine', attempt: old, signal: { type: 'qr', text: 'stale', ttlMs: 60_000 } },
      { type: 'timer', timer: 'init', attempt: old },
      { type: 'timer', timer: 'launch', attempt: old },
    ] as const) {
      expect(d.send(input)).toEqual([]);
      expect(d.state).toEqual(waiting);
    }
    const waitingAttempt = d.state.attempt;
    d.fire('reconnect');
    expect(d.send({ type: 'timer', timer: 'reconnect', attempt: waitingAttempt })).toEqual([]);
    expect(d.engine({ type: 'open', user: ALICE }, waitingAttempt)).toEqual([]);
    expect(d.state).toMatchObject({ status: 'INIT', connecting: true });
  });

  it('opens no second connection when a reconnect timer fires while an attempt is live', () => {
    const d = driverIn('INIT_BACKOFF');
    d.fire('reconnect');
    const live = d.state;
    expect(d.send({ type: 'timer', timer: 'reconnect', attempt: live.attempt })).toEqual([]);
    d.launchAndOpen(ALICE);
    expect(d.send({ type: 'timer', timer: 'reconnect', attempt: d.state.attempt })).toEqual([]);
    expect(d.state.status).toBe('AUTH');
  });

  it('gives up with ERROR reconnect_failed after maxFailures consecutive failed attempts', () => {
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 4 }) });
    d.pair(ALICE);
    close(d, 'transient', 'drop');
    const attempts: number[] = [];
    while (d.state.status !== 'ERROR') {
      attempts.push(...connects(d.fire('reconnect')));
      d.advance(100);
      close(d, 'transient', 'refused');
    }
    expect(attempts).toHaveLength(4);
    expect(d.state).toMatchObject({ reason: 'reconnect_failed', detail: expect.stringContaining('refused'), connecting: false });
    expect(d.timers.size).toBe(0);
  });

  it('gives a channel with maxFailures 1 one reconnect attempt after a drop', () => {
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 1 }) });
    d.pair(ALICE);
    close(d, 'transient');
    expect(d.state.status).toBe('INIT');
    expect(connects(d.fire('reconnect'))).toHaveLength(1);
    close(d, 'transient');
    expect(d.state).toMatchObject({ status: 'ERROR', reason: 'reconnect_failed' });
  });

  it('resets the failure count on success', () => {
    const d = new LifecycleDriver({ config: withReconnect({ maxFailures: 3 }) });
    const failAttempts = (n: number): void => {
      for (let i = 0; i < n; i++) {
        d.fire('reconnect');
        close(d, 'transient', 'refused');
      }
    };
    d.pair(ALICE);
    close(d, 'transient');
    failAttempts(2);
    d.fire('reconnect');
    d.launchAndOpen(ALICE);
    expect(d.state.failures).toBe(0);

    close(d, 'transient');
    expect(d.timers.get('reconnect')?.at).toBe(d.now + backoffDelay(cfg.reconnect, 1, 0.5));
    failAttempts(2);
    expect(d.state.status).toBe('INIT');
    failAttempts(1);
    expect(d.state).toMatchObject({ status: 'ERROR', reason: 'reconnect_failed' });
  });
});

describe('pairing rounds', () => {
  const exhaust = (d: LifecycleDriver) => d.engine({ type: 'close', reason: 'qr_exhausted', detail: 'no scan' });

  it('starts another round with the status staying QR when a round ends without a scan', () => {
    const d = driverIn('QR');
    const old = d.state.attempt;
    const effects = exhaust(d);
    expect(records(effects)).toEqual([{ at: d.now, from: 'QR', to: 'QR', reason: 'qr_round_ended', detail: 'pairing round 2 of 5' }]);
    expect(kinds(effects)).toEqual(expect.arrayContaining(['disconnect', 'connect']));
    expect(d.state).toMatchObject({ status: 'QR', qrRound: 2, connecting: true, parked: false });
    expect(d.state.attempt).toBeGreaterThan(old);
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'WAITING' });
    const qr = d.engine({ type: 'qr', text: 'round-2', ttlMs: 60_000 });
    expect(records(qr)).toEqual([]);
    expect(qrPayload(d.state, d.now)).toMatchObject({ status: 'OK', rowdata: 'round-2' });
  });

  it('parks after qrMaxRounds: status QR, QR answers TIMEOUT, idle, nothing scheduled', () => {
    const d = driverIn('QR');
    for (let round = 1; round < cfg.qrMaxRounds; round++) {
      exhaust(d);
      d.engine({ type: 'qr', text: `round-${round + 1}`, ttlMs: 60_000 });
    }
    expect(d.state.parked).toBe(false);
    const parked = exhaust(d);
    expect(records(parked)).toEqual([{ at: d.now, from: 'QR', to: 'QR', reason: 'parked', detail: expect.stringContaining('5 pairing rounds') }]);
    expect(connects(parked)).toEqual([]);
    expect(d.state).toMatchObject({ status: 'QR', parked: true, connecting: false, qr: null });
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'TIMEOUT' });
    expect(isIdle(d.state)).toBe(true);
    expect(d.advance(86_400_000)).toEqual([]);
  });

  it('starts a new round when a parked channel gets a wakeup', () => {
    const d = driverIn('QR_PARKED');
    const effects = d.send({ type: 'wakeup' });
    expect(connects(effects)).toEqual([d.state.attempt]);
    expect(records(effects)).toEqual([{ at: d.now, from: 'QR', to: 'QR', reason: 'wakeup', detail: 'pairing round 1 of 5' }]);
    expect(d.state).toMatchObject({ status: 'QR', parked: false, qrRound: 1 });
    expect(isIdle(d.state)).toBe(false);
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'WAITING' });
    d.engine({ type: 'qr', text: 'awake', ttlMs: 60_000 });
    expect(path(d.engine({ type: 'open', user: ALICE }))).toEqual(['AUTH']);
  });

  it('abandons and retries a later pairing round whose engine hangs before its first QR', () => {
    const d = driverIn('QR_PARKED');
    d.send({ type: 'wakeup' });
    expect(d.state).toMatchObject({ status: 'QR', qr: null, connecting: true });
    const effects = d.advance(45_000);
    expect(alerts(effects).map((a) => a.kind)).toContain('stuck_init');
    expect(path(effects)).toEqual(['INIT']);
    expect(d.state).toMatchObject({ status: 'INIT', reason: 'connection_lost', connecting: false });
  });

  it('starts a NOT_INIT channel on a wakeup', () => {
    const d = driverIn('NOT_INIT');
    const effects = d.send({ type: 'wakeup' });
    expect(records(effects)).toEqual([{ at: d.now, from: 'NOT_INIT', to: 'INIT', reason: 'wakeup' }]);
    expect(connects(effects)).toHaveLength(1);
  });

  it.each(['STOP', 'INIT', 'LAUNCH', 'QR', 'AUTH', 'SYNC_ERROR', 'INIT_BACKOFF'] as const)('ignores a wakeup in %s', (situation) => {
    const d = driverIn(situation);
    const before = d.state;
    expect(d.send({ type: 'wakeup' })).toEqual([]);
    expect(d.state).toEqual(before);
  });
});

describe('flapping', () => {
  /** A drop out of AUTH and a quick way back. */
  const blip = (d: LifecycleDriver) => {
    const effects = close(d, 'transient', 'blip');
    d.fire('reconnect');
    d.launchAndOpen(ALICE);
    return effects;
  };
  const minutes = (n: number) => n * 60_000;

  it('alerts once, with a history note, on 3 drops out of AUTH within 15 minutes', () => {
    const d = driverIn('AUTH');
    const drops = [blip(d), (d.advance(minutes(5)), blip(d)), (d.advance(minutes(5)), blip(d)), (d.advance(minutes(1)), blip(d))];
    expect(drops.map((e) => alerts(e, 'flapping').length)).toEqual([0, 0, 1, 0]);
    const [alert] = alerts(drops[2] ?? [], 'flapping');
    expect(alert).toEqual({ kind: 'flapping', detail: expect.stringContaining('3 drops'), at: expect.any(Number) });
    expect(records(drops[2] ?? []).filter((r) => r.reason === 'flapping')).toEqual([
      { at: expect.any(Number), from: 'AUTH', to: 'AUTH', reason: 'flapping', detail: alert?.detail },
    ]);
    expect(alerts(d.effects, 'flapping')).toHaveLength(1);
  });

  it('counts restart_required drops out of AUTH too', () => {
    const d = driverIn('AUTH');
    for (let i = 0; i < 3; i++) {
      close(d, 'restart_required');
      d.launchAndOpen(ALICE);
    }
    expect(alerts(d.effects, 'flapping')).toHaveLength(1);
  });

  it('does not alert on drops spread over more than the window', () => {
    const d = driverIn('AUTH');
    for (let i = 0; i < 6; i++) {
      blip(d);
      d.advance(minutes(8));
    }
    expect(alerts(d.effects, 'flapping')).toEqual([]);
  });

  it('does not count failed reconnect attempts as drops out of AUTH', () => {
    const d = driverIn('AUTH');
    close(d, 'transient');
    for (let i = 0; i < 4; i++) {
      d.fire('reconnect');
      close(d, 'transient');
    }
    expect(alerts(d.effects, 'flapping')).toEqual([]);
  });

  it('alerts again once the window has emptied', () => {
    const d = driverIn('AUTH');
    for (let i = 0; i < 3; i++) blip(d);
    d.advance(minutes(16));
    for (let i = 0; i < 2; i++) blip(d);
    expect(alerts(d.effects, 'flapping')).toHaveLength(1);
    blip(d);
    expect(alerts(d.effects, 'flapping')).toHaveLength(2);
  });
});

describe('the reconnecting flag (send hold)', () => {
  it.each(['transient', 'restart_required'] as const)('is set by a %s drop out of AUTH and cleared by AUTH', (reason) => {
    const d = driverIn('AUTH');
    close(d, reason);
    expect(d.state.reconnecting).toBe(true);
    if (d.timers.has('reconnect')) d.fire('reconnect');
    d.engine({ type: 'launching' });
    expect(d.state).toMatchObject({ status: 'LAUNCH', reconnecting: true });
    d.engine({ type: 'open', user: ALICE });
    expect(d.state.reconnecting).toBe(false);
  });

  it('stays clear when a channel that never reached AUTH fails an attempt', () => {
    const d = driverIn('LAUNCH');
    close(d, 'transient');
    expect(d.state.reconnecting).toBe(false);
  });

  it.each([
    ['ERROR (init_timeout)', (d: LifecycleDriver) => { d.fire('reconnect'); d.advance(cfg.initTimeoutMs); }],
    ['ERROR (replaced)', (d: LifecycleDriver) => { d.fire('reconnect'); close(d, 'replaced'); }],
    ['STOP', (d: LifecycleDriver) => d.send({ type: 'stop', reason: 'operator' })],
    ['QR', (d: LifecycleDriver) => { d.fire('reconnect'); d.engine({ type: 'qr', text: 'again', ttlMs: 60_000 }); }],
    ['operator logout', (d: LifecycleDriver) => d.send({ type: 'logout' })],
    ['logged_out', (d: LifecycleDriver) => { d.fire('reconnect'); close(d, 'logged_out'); }],
    ['restart', (d: LifecycleDriver) => d.send({ type: 'restart', reason: 'operator' })],
  ])('is cleared by %s', (_, act) => {
    const d = driverIn('INIT_BACKOFF');
    expect(d.state.reconnecting).toBe(true);
    act(d);
    expect(d.state.reconnecting).toBe(false);
  });
});

describe('an operator logout on a channel that is not running', () => {
  it.each(['STOP', 'ERROR'] as const)('wipes the account of a %s channel and leaves it as it is', (situation) => {
    const d = driverIn(situation);
    d.state = { ...d.state, user: ALICE };
    const effects = d.send({ type: 'logout' });
    expect(kinds(effects)).toContain('logout');
    expect(connects(effects)).toHaveLength(0);
    expect(d.state).toMatchObject({ status: situation, user: null, connecting: false });
    expect(path(effects)).toEqual([]);
  });
});
