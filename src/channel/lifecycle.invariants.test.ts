import { describe, expect, it } from 'vitest';
import { DISCONNECT_CLASSES, STATUS_TEXTS } from '@wagate/protocol';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from './config.js';
import { ALICE, BOB, LifecycleDriver, connects, records } from './lifecycle.driver.js';
import { isIdle, type Effect, type LifecycleInput, type LifecycleState } from './lifecycle.js';

// Walks every (status, input) pair reachable from NOT_INIT within a few steps and checks the
// invariants that must hold after any step, however odd the order of inputs.

/** Small caps, so that ERROR reconnect_failed, parking and flapping are reached in few steps. */
const config: LifecycleConfig = {
  ...DEFAULT_LIFECYCLE,
  reconnect: { ...DEFAULT_LIFECYCLE.reconnect, maxFailures: 3 },
  qrMaxRounds: 2,
  flap: { drops: 2, windowMs: 15 * 60_000 },
};
const MAX_DEPTH = 9;

interface Node {
  d: LifecycleDriver;
  /** The highest attempt id this path has handed out. */
  highest: number;
}

/** The inputs worth trying in `s`: every operator action, every engine signal, stale ones too. */
function inputsFor(s: LifecycleState): Array<[label: string, input: LifecycleInput]> {
  const engine = (attempt: number, signal: Extract<LifecycleInput, { type: 'engine' }>['signal']): LifecycleInput => ({ type: 'engine', attempt, signal });
  const closes = DISCONNECT_CLASSES
    // An engine reports that a pairing round ran out of QRs only in a round that showed one.
    .filter((reason) => reason !== 'qr_exhausted' || s.qr !== null)
    .map((reason): [string, LifecycleInput] => [`close:${reason}`, engine(s.attempt, { type: 'close', reason, detail: reason })]);
  return [
    ['start', { type: 'start', reason: 'operator' }],
    ['restart', { type: 'restart', reason: 'operator' }],
    ['stop', { type: 'stop', reason: 'operator' }],
    ['wakeup', { type: 'wakeup' }],
    ['logout', { type: 'logout' }],
    ['launching', engine(s.attempt, { type: 'launching' })],
    ['qr', engine(s.attempt, { type: 'qr', text: `qr-${s.attempt}`, ttlMs: 20_000 })],
    ['open:same', engine(s.attempt, { type: 'open', user: s.user ?? ALICE })],
    ['open:other', engine(s.attempt, { type: 'open', user: BOB })],
    ['sync_error', engine(s.attempt, { type: 'sync_error', detail: 'sync' })],
    ...closes,
    ['stale:open', engine(s.attempt - 1, { type: 'open', user: ALICE })],
    ['stale:close', engine(s.attempt - 1, { type: 'close', reason: 'transient', detail: 'late' })],
    ['stale:timer:init', { type: 'timer', timer: 'init', attempt: s.attempt - 1 }],
    ['stale:timer:launch', { type: 'timer', timer: 'launch', attempt: s.attempt - 1 }],
    ['stale:timer:reconnect', { type: 'timer', timer: 'reconnect', attempt: s.attempt - 1 }],
  ];
}

/** What identifies a node for the walk (the attempt counter and the clock do not). */
function key({ d }: Node): string {
  const s = d.state;
  const timers = [...d.timers.keys()].sort();
  return JSON.stringify([s.status, s.connecting, s.parked, s.reconnecting, s.user?.id, s.qrRound, s.failures, s.flapping, s.drops.length, s.qr !== null, timers]);
}

/** Checks one step, from `prev` through `input` to `next`, which produced `effects`. */
function checkStep(prev: Node, input: LifecycleInput, next: LifecycleDriver, effects: Effect[]): void {
  const p = prev.d.state;
  const s = next.state;

  // At most one connect, each with an id never handed out before, for the live attempt.
  const ids = connects(effects);
  expect(ids.length).toBeLessThanOrEqual(1);
  for (const id of ids) {
    expect(id).toBeGreaterThan(prev.highest);
    expect(id).toBe(s.attempt);
    expect(s.connecting).toBe(true);
  }

  // Replay the live attempts: a connect while one is live would leave two.
  let live = p.connecting ? [p.attempt] : [];
  for (const e of effects) {
    if (e.kind === 'disconnect') live = [];
    if (e.kind === 'connect') live = [...live, e.attempt];
    expect(live.length).toBeLessThanOrEqual(1);
  }
  expect(live).toEqual(s.connecting ? [s.attempt] : []);

  // Timers belong to the current attempt; stopped, failed and idle channels have none.
  for (const t of next.timers.values()) expect(t.attempt).toBe(s.attempt);
  if (s.status === 'STOP' || s.status === 'ERROR' || isIdle(s)) {
    expect(s.connecting).toBe(false);
    expect(next.timers.size).toBe(0);
  }
  // Nothing stalls: a running channel with no live attempt waits for a reconnect timer.
  if (!isIdle(s) && !s.connecting) expect([...next.timers.keys()]).toEqual(['reconnect']);
  if (s.status !== 'QR') expect(s.parked).toBe(false);

  // Events of another attempt, or of none, change nothing.
  const stale = (input.type === 'engine' || input.type === 'timer') && input.attempt !== p.attempt;
  if (stale || (input.type === 'engine' && !p.connecting)) {
    expect(effects).toEqual([]);
    expect(s).toEqual(p);
  }

  // The history chains: each record starts where the last one ended and ends at the status.
  const recs = records(effects);
  let at = p.status;
  for (const r of recs) {
    expect(r.from).toBe(at);
    expect(r.at).toBe(next.now);
    at = r.to;
  }
  expect(at).toBe(s.status);
  if (s.status !== p.status) expect(recs.length).toBeGreaterThan(0);
}

describe('lifecycle invariants over every reachable (status, input) pair', () => {
  it('keeps one live attempt, fresh attempt ids, idle halts and a chained history', () => {
    const root: Node = { d: new LifecycleDriver({ config, random: () => 0.5 }), highest: 0 };
    const seen = new Set([key(root)]);
    const pairs = new Set<string>();
    let frontier = [root];
    let steps = 0;

    for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
      const nextFrontier: Node[] = [];
      for (const node of frontier) {
        const moves = inputsFor(node.d.state).map(([label, input]) => ({ label, input, at: node.d.now }));
        // A timer fires at its due time; only the earliest pending one can fire next.
        const due = [...node.d.timers].sort((a, b) => a[1].at - b[1].at)[0];
        if (due) moves.push({ label: `timer:${due[0]}`, input: { type: 'timer', timer: due[0], attempt: due[1].attempt }, at: due[1].at });

        for (const { label, input, at } of moves) {
          const next = node.d.fork();
          next.now = at;
          if (input.type === 'timer' && label.startsWith('timer:')) next.timers.delete(input.timer);
          const effects = next.send(input);
          pairs.add(`${node.d.state.parked ? 'QR(parked)' : node.d.state.status} × ${label}`);
          checkStep(node, input, next, effects);
          steps += 1;

          const child: Node = { d: next, highest: Math.max(node.highest, node.d.state.attempt, ...connects(effects)) };
          const k = key(child);
          if (!seen.has(k)) {
            seen.add(k);
            nextFrontier.push(child);
          }
        }
      }
      frontier = nextFrontier;
    }

    const statuses = new Set([...pairs].map((p) => p.split(' × ')[0]));
    expect([...statuses].sort()).toEqual([...STATUS_TEXTS, 'QR(parked)'].sort());
    for (const status of statuses) {
      for (const label of ['start', 'restart', 'stop', 'wakeup', 'logout', 'launching', 'qr', 'open:same', 'sync_error', 'close:transient', 'close:logged_out', 'stale:open']) {
        expect(pairs.has(`${status} × ${label}`), `${status} × ${label}`).toBe(true);
      }
    }
    for (const timer of ['init', 'launch', 'reconnect']) expect([...pairs].some((p) => p.endsWith(`timer:${timer}`) && !p.includes('stale'))).toBe(true);
    expect(pairs.has('QR × close:qr_exhausted')).toBe(true);
    expect(steps).toBeGreaterThan(1_000);
  });
});
