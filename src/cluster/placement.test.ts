import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Placement } from '../store/cluster.js';
import { PlacementPasses } from './placement.js';

/** A pass the test answers by hand: each place() call waits until `answer` or `fail`. */
function manualPlacer(): {
  calls: string[][];
  answer(i: number, assigned: Placement['assigned']): void;
  fail(i: number, err: Error): void;
  place(first: string[]): Promise<Placement>;
} {
  const calls: string[][] = [];
  const pending: Array<{ resolve(p: Placement): void; reject(e: Error): void }> = [];
  return {
    calls,
    answer: (i, assigned) => pending[i]!.resolve({ assigned }),
    fail: (i, err) => pending[i]!.reject(err),
    place: (first) => {
      calls.push(first);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
}

const lease = (channelId: string, nodeId = 'me'): Placement['assigned'][number] => ({ channelId, nodeId, epoch: 1, startPending: true });

describe('PlacementPasses', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const passes = (placer: ReturnType<typeof manualPlacer>, adopted: string[]): PlacementPasses =>
    new PlacementPasses({
      place: (first) => placer.place(first),
      adopt: (p) => new Map(p.assigned.filter((a) => a.nodeId === 'me').map((a) => [a.channelId, Promise.resolve().then(() => void adopted.push(a.channelId))])),
      windowMs: 10,
      waitMs: 1000,
      retryMs: 100,
    });

  it('places channels created at once in one pass; each caller resolves once its own channel is adopted or placed elsewhere', async () => {
    const placer = manualPlacer();
    const adopted: string[] = [];
    const p = passes(placer, adopted);
    const ids = Array.from({ length: 64 }, (_, i) => `ch${i}`);
    const settled: string[] = [];
    const creations = ids.map((id) => p.placeNew(id).then(() => void settled.push(id)));
    await vi.advanceTimersByTimeAsync(10);
    expect(placer.calls).toEqual([ids]);
    placer.answer(0, ids.map((id, i) => lease(id, i % 2 === 0 ? 'me' : 'other')));
    await Promise.all(creations);
    expect(settled.sort()).toEqual([...ids].sort());
    expect(adopted.sort()).toEqual(ids.filter((_, i) => i % 2 === 0).sort());
  });

  it('runs one pass at a time: channels created while one runs share the next', async () => {
    const placer = manualPlacer();
    const p = passes(placer, []);
    const first = p.placeNew('a');
    await vi.advanceTimersByTimeAsync(10);
    const later = [p.placeNew('b'), p.placeNew('c'), p.request()];
    await vi.advanceTimersByTimeAsync(50);
    expect(placer.calls).toEqual([['a']]);
    placer.answer(0, [lease('a')]);
    await first;
    await vi.advanceTimersByTimeAsync(10);
    expect(placer.calls).toEqual([['a'], ['b', 'c']]);
    placer.answer(1, [lease('b'), lease('c', 'other')]);
    await Promise.all(later);
  });

  it('tries a failed pass again for the channels waiting; gives one up (its creation fails) after waitMs', async () => {
    const placer = manualPlacer();
    const p = passes(placer, []);
    const a = p.placeNew('a');
    const aSettled = vi.fn();
    void a.then(aSettled, aSettled);
    await vi.advanceTimersByTimeAsync(10);
    placer.fail(0, new Error('timeout exceeded when trying to connect'));
    await vi.advanceTimersByTimeAsync(100);
    expect(placer.calls).toEqual([['a'], ['a']]);
    expect(aSettled).not.toHaveBeenCalled();
    placer.answer(1, [lease('a')]);
    await a;

    const b = p.placeNew('b');
    let bError: unknown = null;
    b.catch((err: unknown) => (bError = err));
    // Every pass fails: b is tried again every retryMs until waitMs (1 s) is up.
    for (let failed = 2; bError === null; ) {
      await vi.advanceTimersByTimeAsync(50);
      while (placer.calls.length > failed) placer.fail(failed++, new Error('timeout'));
    }
    expect(String(bError)).toContain('timeout');
    expect(placer.calls.length).toBeGreaterThan(5);
    expect(placer.calls.length).toBeLessThan(15);
  });
});
