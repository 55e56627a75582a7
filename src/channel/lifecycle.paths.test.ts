import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { HistoryEntry } from '@wagate/protocol';
import { DEFAULT_LIFECYCLE, backoffDelay } from './config.js';
import { ALICE, BOB, LifecycleDriver, T0, driverIn, emitted, kinds, connects, path, records, type Situation } from './lifecycle.driver.js';
import { qrPayload } from './lifecycle.js';

// SPEC §1 "Normal paths", operator actions, and the status history.

const cfg = DEFAULT_LIFECYCLE;

describe('first start', () => {
  it('walks NOT_INIT → INIT → LAUNCH → QR → AUTH and announces the new link', () => {
    const d = new LifecycleDriver();
    expect(d.state.status).toBe('NOT_INIT');

    const started = d.send({ type: 'start', reason: 'started' });
    expect(path(started)).toEqual(['INIT']);
    expect(connects(started)).toEqual([d.state.attempt]);
    expect(d.state).toMatchObject({ connecting: true, startAt: T0 });
    expect(d.timers.get('init')).toEqual({ at: T0 + cfg.initTimeoutMs, attempt: d.state.attempt });

    d.advance(200);
    const launched = d.engine({ type: 'launching' });
    expect(path(launched)).toEqual(['LAUNCH']);
    expect(kinds(launched)).toContain('cancel:init');
    expect([...d.timers.keys()]).toEqual(['launch']);
    expect(d.timers.get('launch')?.at).toBe(d.now + cfg.launchTimeoutMs);

    d.advance(500);
    const qr = d.engine({ type: 'qr', text: 'qr-1', ttlMs: 60_000 });
    expect(path(qr)).toEqual(['QR']);
    expect(emitted(qr, 'channel.patch')).toEqual([{ qr: { status: 'OK', rowdata: 'qr-1', expire: 60 } }]);
    expect(d.timers.size).toBe(0);
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'OK', rowdata: 'qr-1', expire: 60 });

    d.advance(10_000);
    const opened = d.engine({ type: 'open', user: ALICE });
    expect(path(opened)).toEqual(['AUTH']);
    expect(records(opened)[0]?.reason).toBe('paired');
    expect(emitted(opened, 'users.post')).toEqual([{ user: ALICE }]);
    expect(d.state).toMatchObject({ status: 'AUTH', user: ALICE, connecting: true, qr: null, qrRound: 0 });
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'WAITING' });
  });

  it('sends channel.patch for every new QR while the status stays QR, recording only the first', () => {
    const d = driverIn('LAUNCH');
    const patches = [
      d.engine({ type: 'qr', text: 'qr-1', ttlMs: 60_000 }),
      (d.advance(60_000), d.engine({ type: 'qr', text: 'qr-2', ttlMs: 20_000 })),
      (d.advance(20_000), d.engine({ type: 'qr', text: 'qr-3', ttlMs: 20_000 })),
    ];
    expect(patches.map((e) => emitted(e, 'channel.patch'))).toEqual([
      [{ qr: { status: 'OK', rowdata: 'qr-1', expire: 60 } }],
      [{ qr: { status: 'OK', rowdata: 'qr-2', expire: 20 } }],
      [{ qr: { status: 'OK', rowdata: 'qr-3', expire: 20 } }],
    ]);
    expect(patches.map((e) => records(e).length)).toEqual([1, 0, 0]);
    expect(d.state.status).toBe('QR');
    d.advance(7_500);
    expect(qrPayload(d.state, d.now)).toEqual({ status: 'OK', rowdata: 'qr-3', expire: 13 });
  });
});

describe('start with saved credentials', () => {
  it('walks INIT → LAUNCH → AUTH with no users.post when the same account comes back', () => {
    const d = new LifecycleDriver({ user: ALICE });
    const effects = [...d.send({ type: 'start', reason: 'boot' }), ...d.launchAndOpen(ALICE)];
    expect(path(effects)).toEqual(['INIT', 'LAUNCH', 'AUTH']);
    expect(records(effects).at(-1)?.reason).toBe('connected');
    expect(emitted(effects, 'users.post')).toEqual([]);
    expect(d.state.user).toEqual(ALICE);
  });

  it('announces users.post when the credentials open as another account', () => {
    const d = new LifecycleDriver({ user: ALICE });
    d.send({ type: 'start', reason: 'boot' });
    expect(emitted(d.launchAndOpen(BOB), 'users.post')).toEqual([{ user: BOB }]);
    expect(d.state.user).toEqual(BOB);
  });
});

describe('brief reconnect', () => {
  it('goes AUTH → INIT → LAUNCH → AUTH after a transient drop, connecting again after the backoff', () => {
    const d = driverIn('AUTH');
    const startAt = d.state.startAt;
    d.advance(3_600_000);

    const dropped = d.engine({ type: 'close', reason: 'transient', detail: 'connection lost' });
    expect(path(dropped)).toEqual(['INIT']);
    expect(kinds(dropped)).toContain('disconnect');
    expect(connects(dropped)).toEqual([]);
    const delay = backoffDelay(cfg.reconnect, 1, 0.5);
    expect(d.timers.get('reconnect')?.at).toBe(d.now + delay);
    expect(d.state.connecting).toBe(false);

    expect(d.advance(delay - 1)).toEqual([]);
    const retried = d.advance(1);
    expect(connects(retried)).toEqual([d.state.attempt]);
    expect(d.state).toMatchObject({ status: 'INIT', connecting: true });

    const back = d.launchAndOpen(ALICE);
    expect(path(back)).toEqual(['LAUNCH', 'AUTH']);
    expect(records(back).at(-1)?.reason).toBe('reconnected');
    expect(emitted(back, 'users.post')).toEqual([]);
    expect(d.state).toMatchObject({ startAt, failures: 0, reconnecting: false });
  });
});

describe('logged out', () => {
  it('deletes the user, wipes credentials and opens a new pairing round INIT → LAUNCH → QR when the phone unlinks', () => {
    const d = driverIn('AUTH');
    const out = d.engine({ type: 'close', reason: 'logged_out', detail: 'unlinked from the phone' });
    expect(kinds(out)).toContain('wipe_credentials');
    expect(kinds(out)).not.toContain('logout');
    expect(emitted(out, 'users.delete')).toEqual([{ user: ALICE }]);
    expect(records(out)).toEqual([{ at: d.now, from: 'AUTH', to: 'INIT', reason: 'logged_out', detail: 'unlinked from the phone' }]);
    expect(connects(out)).toEqual([d.state.attempt]);
    expect(d.state).toMatchObject({ user: null, reconnecting: false });

    const pairing = [...d.engine({ type: 'launching' }), ...d.engine({ type: 'qr', text: 'qr-new', ttlMs: 60_000 })];
    expect(path(pairing)).toEqual(['LAUNCH', 'QR']);
    expect(emitted(d.engine({ type: 'open', user: ALICE }), 'users.post')).toEqual([{ user: ALICE }]);
  });

  it('asks the engine to log out when the operator logs out, then pairs again', () => {
    const d = driverIn('AUTH');
    const out = d.send({ type: 'logout' });
    expect(kinds(out)).toContain('logout');
    expect(kinds(out)).not.toContain('wipe_credentials');
    expect(emitted(out, 'users.delete')).toEqual([{ user: ALICE }]);
    expect(path(out)).toEqual(['INIT']);
    expect(connects(out)).toHaveLength(1);
    expect(d.state.user).toBeNull();
  });

  it('ignores an operator logout when no account is linked', () => {
    const d = driverIn('QR');
    const before = d.state;
    expect(d.send({ type: 'logout' })).toEqual([]);
    expect(d.state).toEqual(before);
  });

  it('cures SYNC_ERROR by logout and pairing again', () => {
    const d = driverIn('AUTH');
    const failed = d.engine({ type: 'sync_error', detail: 'history sync failed' });
    expect(records(failed)).toEqual([{ at: d.now, from: 'AUTH', to: 'SYNC_ERROR', reason: 'sync_failed', detail: 'history sync failed' }]);
    const out = d.send({ type: 'logout' });
    expect(path(out)).toEqual(['INIT']);
    expect(emitted(out, 'users.delete')).toEqual([{ user: ALICE }]);
  });
});

describe('operator stop and start', () => {
  const everywhere: Situation[] = ['NOT_INIT', 'INIT', 'LAUNCH', 'QR', 'QR_PARKED', 'AUTH', 'SYNC_ERROR', 'INIT_BACKOFF', 'ERROR'];

  it.each(everywhere)('stops from %s: ends a live attempt and cancels every timer', (situation) => {
    const d = driverIn(situation);
    const from = d.state.status;
    const wasConnecting = d.state.connecting;
    const stopped = d.send({ type: 'stop', reason: 'operator' });
    expect(records(stopped)).toEqual([{ at: d.now, from, to: 'STOP', reason: 'operator' }]);
    expect(kinds(stopped).filter((k) => k.startsWith('cancel:')).sort()).toEqual(['cancel:init', 'cancel:launch', 'cancel:reconnect']);
    expect(kinds(stopped).includes('disconnect')).toBe(wasConnecting);
    expect(connects(stopped)).toEqual([]);
    expect(d.timers.size).toBe(0);
    expect(d.state).toMatchObject({ status: 'STOP', connecting: false, reconnecting: false, parked: false, qr: null });
    expect(d.advance(86_400_000)).toEqual([]);
  });

  it('ignores a stop when already stopped', () => {
    const d = driverIn('STOP');
    expect(d.send({ type: 'stop', reason: 'again' })).toEqual([]);
  });

  it('starts from STOP into INIT with a fresh attempt and a new startAt', () => {
    const d = driverIn('STOP');
    const oldAttempt = d.state.attempt;
    d.advance(60_000);
    const started = d.send({ type: 'start', reason: 'operator' });
    expect(records(started)).toEqual([{ at: d.now, from: 'STOP', to: 'INIT', reason: 'operator' }]);
    expect(connects(started)).toEqual([d.state.attempt]);
    expect(d.state.attempt).toBeGreaterThan(oldAttempt);
    expect(d.state.startAt).toBe(d.now);
    expect(path(d.launchAndOpen(ALICE))).toEqual(['LAUNCH', 'AUTH']);
  });

  it.each(['INIT', 'LAUNCH', 'QR', 'AUTH', 'SYNC_ERROR'] as const)('ignores a start while %s', (situation) => {
    const d = driverIn(situation);
    expect(d.send({ type: 'start', reason: 'again' })).toEqual([]);
  });

  it('resets startAt on a restart while reconnects keep it', () => {
    const d = driverIn('AUTH');
    d.advance(600_000);
    d.engine({ type: 'close', reason: 'transient', detail: 'blip' });
    d.fire('reconnect');
    d.launchAndOpen(ALICE);
    d.engine({ type: 'close', reason: 'restart_required', detail: 'stream restart' });
    d.launchAndOpen(ALICE);
    expect(d.state.startAt).toBe(T0);

    d.advance(1_000);
    const restarted = d.send({ type: 'restart', reason: 'operator' });
    expect(records(restarted)).toEqual([{ at: d.now, from: 'AUTH', to: 'INIT', reason: 'operator' }]);
    expect(kinds(restarted)).toEqual(expect.arrayContaining(['disconnect', 'connect']));
    expect(d.state.startAt).toBe(d.now);
  });
});

describe('status history', () => {
  it('gives every record its time, from, to and reason, with detail only where there is one', () => {
    const d = new LifecycleDriver({ user: ALICE });
    d.send({ type: 'start', reason: 'boot' });
    d.advance(cfg.initTimeoutMs);
    d.send({ type: 'start', reason: 'operator' });
    d.engine({ type: 'launching' });
    d.advance(cfg.launchTimeoutMs);
    d.fire('reconnect');
    d.launchAndOpen(ALICE);
    d.engine({ type: 'sync_error', detail: 'sync' });
    d.engine({ type: 'close', reason: 'restart_required', detail: 'restart' });
    d.launchAndOpen(ALICE);
    d.engine({ type: 'close', reason: 'logged_out', detail: 'unlinked' });
    d.engine({ type: 'qr', text: 'q', ttlMs: 60_000 });
    d.engine({ type: 'close', reason: 'qr_exhausted', detail: 'no scan' });
    d.send({ type: 'stop', reason: 'operator' });

    const all = d.log.flatMap(({ at, effects }) => records(effects).map((entry) => ({ at, entry })));
    expect(new Set(all.map(({ entry }) => entry.to))).toEqual(new Set(['INIT', 'ERROR', 'LAUNCH', 'AUTH', 'SYNC_ERROR', 'QR', 'STOP']));
    for (const [i, { at, entry }] of all.entries()) {
      expect(Value.Check(HistoryEntry, entry), JSON.stringify(entry)).toBe(true);
      expect(entry.at).toBe(at);
      expect(entry.reason).not.toBe('');
      if ('detail' in entry) expect(typeof entry.detail).toBe('string');
      if (i > 0) expect(entry.from).toBe(all[i - 1]?.entry.to);
    }
    const byReason = (reason: string): HistoryEntry | undefined => all.find(({ entry }) => entry.reason === reason)?.entry;
    expect(byReason('init_timeout')).toMatchObject({ from: 'INIT', to: 'ERROR', detail: expect.stringContaining('45000') });
    expect(byReason('connection_lost')).toMatchObject({ from: 'LAUNCH', to: 'INIT', detail: expect.stringContaining('launch_timeout') });
    expect(byReason('restart_required')).toMatchObject({ from: 'SYNC_ERROR', to: 'INIT', detail: 'restart' });
    expect(byReason('qr_round_ended')).toMatchObject({ from: 'QR', to: 'QR', detail: 'pairing round 2 of 5' });
    expect(byReason('operator')).not.toHaveProperty('detail');
  });
});
