import { describe, expect, it } from 'vitest';
import type { Effect } from '../channel/lifecycle.js';
import type { StatusText } from '@wagate/protocol';
import { healthRank, ProxyHealthBook } from './health.js';

// A proxy's health from the lifecycle steps of the channels on it, over a rolling hour (virtual time).

const HOUR = 3_600_000;
const connect: Effect = { kind: 'connect', attempt: 1 };
const move = (from: StatusText, to: StatusText, reason: string): Effect => ({ kind: 'record', entry: { at: 0, from, to, reason } });

function book(): ProxyHealthBook {
  return new ProxyHealthBook({ badDropsPerHour: 6, badFailedPerHour: 5 });
}

describe('proxy health', () => {
  it('is unknown before any connect, healthy once a channel reaches AUTH through it, with the median time to AUTH', () => {
    const b = book();
    expect(b.report('px', 0)).toMatchObject({ status: 'unknown', connects: 0, time_to_auth_ms: null });
    for (const [channel, ms] of [['a', 800], ['b', 1200], ['c', 3000]] as const) {
      b.observe('px', channel, [connect], 1000);
      b.observe('px', channel, [move('LAUNCH', 'AUTH', 'connected')], 1000 + ms);
    }
    expect(b.report('px', 5000)).toMatchObject({ status: 'healthy', connects: 3, failed_connects: 0, drops: 0, time_to_auth_ms: 1200 });
  });

  it('is degraded by a drop or a failed connect, and bad at the limits per hour', () => {
    const b = book();
    b.observe('px', 'a', [connect, move('LAUNCH', 'AUTH', 'connected')], 0);
    b.observe('px', 'a', [move('AUTH', 'INIT', 'connection_lost')], 1000);
    expect(b.report('px', 1000)).toMatchObject({ status: 'degraded', drops: 1 });
    for (let i = 0; i < 5; i++) b.observe('px', 'a', [move('AUTH', 'INIT', 'connection_lost')], 2000 + i);
    expect(b.report('px', 3000)).toMatchObject({ status: 'bad', drops: 6 });

    const f = book();
    for (let i = 0; i < 4; i++) f.observe('px', 'b', [connect, move('LAUNCH', 'INIT', 'connection_lost')], i);
    expect(f.report('px', 10)).toMatchObject({ status: 'degraded', failed_connects: 4 });
    f.observe('px', 'b', [connect, move('INIT', 'ERROR', 'reconnect_failed')], 20);
    expect(f.report('px', 30)).toMatchObject({ status: 'bad', failed_connects: 5 });
  });

  it('does not count an operator action or a remediation restart as a failed connect, nor a note as a drop', () => {
    const b = book();
    b.observe('px', 'a', [connect, move('LAUNCH', 'INIT', 'operator_restart'), move('INIT', 'INIT', 'remediation'), move('AUTH', 'AUTH', 'flapping')], 0);
    expect(b.report('px', 1)).toMatchObject({ failed_connects: 0, drops: 0 });
  });

  it('forgets what is older than an hour: a bad proxy recovers once its drops age out', () => {
    const b = book();
    b.observe('px', 'a', [connect, move('LAUNCH', 'AUTH', 'connected')], 0);
    for (let i = 0; i < 6; i++) b.observe('px', 'a', [move('AUTH', 'INIT', 'connection_lost')], 1000 + i);
    expect(b.report('px', HOUR).status).toBe('bad');
    b.observe('px', 'a', [connect, move('LAUNCH', 'AUTH', 'connected')], HOUR + 2000);
    expect(b.report('px', HOUR + 2000)).toMatchObject({ status: 'healthy', drops: 0, connects: 1 });
  });

  it('counts the other channels that flapped on the proxy within the window', () => {
    const b = book();
    b.observe('px', 'a', [move('AUTH', 'AUTH', 'flapping')], 0);
    b.observe('px', 'b', [move('AUTH', 'AUTH', 'flapping')], 60_000);
    expect(b.othersFlapping('px', 'a', 120_000, 900_000)).toBe(1);
    expect(b.othersFlapping('px', 'c', 120_000, 900_000)).toBe(2);
    expect(b.othersFlapping('px', 'c', 950_000, 900_000)).toBe(1);
  });

  it('ranks healthy before unknown before degraded before bad', () => {
    const base = { connects: 0, failed_connects: 0, drops: 0, time_to_auth_ms: null, last_error: null };
    const order = [...(['bad', 'unknown', 'degraded', 'healthy'] as const)].sort((x, y) => healthRank({ ...base, status: x }) - healthRank({ ...base, status: y }));
    expect(order).toEqual(['healthy', 'unknown', 'degraded', 'bad']);
  });
});
