import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseRenewal, type OverdueRenewal } from './renewal.js';

describe('LeaseRenewal', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Renewals the test answers by hand, with the time each was sent. */
  function renewals(): { sent: number[]; answer(i: number, ok: boolean): void; renew(): Promise<number> } {
    const sent: number[] = [];
    const pending: Array<{ resolve(n: number): void; reject(e: Error): void }> = [];
    return {
      sent,
      answer: (i, ok) => (ok ? pending[i]!.resolve(1) : pending[i]!.reject(new Error('Query read timeout'))),
      renew: () => {
        sent.push(performance.now());
        return new Promise((resolve, reject) => pending.push({ resolve, reject }));
      },
    };
  }

  const start = async (r: ReturnType<typeof renewals>, overdue: OverdueRenewal[]): Promise<LeaseRenewal> => {
    const renewal = new LeaseRenewal({ renew: () => r.renew(), renewMs: 1000, fenceMs: 3000, onOverdue: (o) => overdue.push(o), onTrouble: () => undefined });
    const started = renewal.start();
    r.answer(0, true);
    await started;
    return renewal;
  };

  it('renews every renewMs, timed from each successful send', async () => {
    const r = renewals();
    const renewal = await start(r, []);
    const t0 = r.sent[0]!;
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.sent.map((t) => Math.round(t - t0))).toEqual([0, 1000]);
    await vi.advanceTimersByTimeAsync(200);
    r.answer(1, true);
    await vi.advanceTimersByTimeAsync(800);
    expect(r.sent.map((t) => Math.round(t - t0))).toEqual([0, 1000, 2000]);
    expect(renewal.overdue).toBe(false);
    r.answer(2, true);
    await renewal.stop();
  });

  it('fences fenceMs after the last successful renewal was sent, however late its answer came', async () => {
    const r = renewals();
    const overdue: OverdueRenewal[] = [];
    const renewal = await start(r, overdue);
    const t0 = r.sent[0]!;
    // The second renewal (sent at 1 s) is answered only at 2.9 s: the fence is due at 1 s + 3 s.
    await vi.advanceTimersByTimeAsync(2900);
    r.answer(1, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(overdue).toEqual([]);
    // The third, due at 2 s, goes out at once (2.9 s) and never answers.
    await vi.advanceTimersByTimeAsync(4000 - (performance.now() - t0) - 1);
    expect(overdue).toEqual([]);
    expect(renewal.overdue).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewal.overdue).toBe(true);
    expect(overdue).toHaveLength(1);
    expect(overdue[0]).toMatchObject({ sinceRenewalMs: 3000, inFlightMs: 1100 });
    r.answer(2, false);
    await renewal.stop();
  });

  it('tries again sooner after a failure, and a success after the fence ends it', async () => {
    const r = renewals();
    const overdue: OverdueRenewal[] = [];
    const renewal = await start(r, overdue);
    const t0 = r.sent[0]!;
    await vi.advanceTimersByTimeAsync(1000);
    r.answer(1, false);
    // Retry after (fenceMs - renewMs) / 4 = 500 ms.
    await vi.advanceTimersByTimeAsync(500);
    expect(r.sent.map((t) => Math.round(t - t0))).toEqual([0, 1000, 1500]);
    r.answer(2, false);
    await vi.advanceTimersByTimeAsync(500);
    r.answer(3, false);
    await vi.advanceTimersByTimeAsync(500);
    r.answer(4, false);
    await vi.advanceTimersByTimeAsync(500);
    expect(overdue).toHaveLength(1);
    expect(overdue[0]).toMatchObject({ failures: 4, lastError: 'Query read timeout' });
    expect(renewal.overdue).toBe(true);
    r.answer(5, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(renewal.overdue).toBe(false);
    await renewal.stop();
  });
});
