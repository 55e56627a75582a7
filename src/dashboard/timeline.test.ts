import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '@wagate/protocol';
import { statusTimeline } from './timeline.js';

const row = (at: number, from: HistoryEntry['from'], to: HistoryEntry['to'], reason = 'x'): HistoryEntry => ({ at, from, to, reason });

describe('statusTimeline', () => {
  it('covers the whole window with the current status when nothing changed in it', () => {
    const t = statusTimeline({ history: [], since: 1000, now: 5000, current: 'AUTH' });
    expect(t.segments).toEqual([{ status: 'AUTH', from: 1000, to: 5000 }]);
    expect(t.uptime).toBe(1);
    expect(t.drops).toBe(0);
  });

  it('starts with the status the first row left, and cuts a segment at each change', () => {
    const t = statusTimeline({
      history: [row(2000, 'QR', 'AUTH', 'paired'), row(6000, 'AUTH', 'INIT', 'connection_lost'), row(6500, 'INIT', 'LAUNCH'), row(7000, 'LAUNCH', 'AUTH', 'reconnected')],
      since: 0,
      now: 10_000,
      current: 'AUTH',
    });
    expect(t.segments).toEqual([
      { status: 'QR', from: 0, to: 2000 },
      { status: 'AUTH', from: 2000, to: 6000 },
      { status: 'INIT', from: 6000, to: 6500 },
      { status: 'LAUNCH', from: 6500, to: 7000 },
      { status: 'AUTH', from: 7000, to: 10_000 },
    ]);
    expect(t.uptime).toBeCloseTo(0.7);
    expect(t.totals).toEqual({ QR: 2000, AUTH: 7000, INIT: 500, LAUNCH: 500 });
  });

  it('counts drops out of AUTH but not operator stops, and counts flapping notes', () => {
    const t = statusTimeline({
      history: [
        row(1000, 'AUTH', 'INIT', 'connection_lost'),
        row(1100, 'INIT', 'AUTH'),
        row(1200, 'AUTH', 'INIT', 'restart_required'),
        row(1300, 'INIT', 'AUTH'),
        row(1400, 'AUTH', 'AUTH', 'flapping'),
        row(1500, 'AUTH', 'STOP', 'operator_stop'),
      ],
      since: 0,
      now: 2000,
      current: 'STOP',
    });
    expect(t.drops).toBe(2);
    expect(t.flapping).toBe(1);
    expect(t.segments.at(-1)).toEqual({ status: 'STOP', from: 1500, to: 2000 });
  });

  it('merges a note into the segment it falls in and ignores rows outside the window', () => {
    const t = statusTimeline({ history: [row(500, 'QR', 'QR', 'qr_round'), row(3000, 'QR', 'AUTH'), row(9000, 'AUTH', 'INIT')], since: 1000, now: 5000, current: 'AUTH' });
    expect(t.segments).toEqual([
      { status: 'QR', from: 1000, to: 3000 },
      { status: 'AUTH', from: 3000, to: 5000 },
    ]);
  });

  it('answers an empty window with no uptime rather than dividing by zero', () => {
    const t = statusTimeline({ history: [], since: 5000, now: 5000, current: 'INIT' });
    expect(t.segments).toEqual([]);
    expect(t.uptime).toBe(0);
  });
});
