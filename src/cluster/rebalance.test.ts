import { describe, expect, it } from 'vitest';
import { planMoves } from './rebalance.js';

describe('planMoves', () => {
  it('hands half the gap to the least-loaded node, bounded by the moves per interval', () => {
    const live = [
      { id: 'a', channels: 20 },
      { id: 'b', channels: 10 },
      { id: 'c', channels: 0 },
    ];
    expect(planMoves(live, 'a', 100)).toEqual({ to: 'c', count: 10 });
    expect(planMoves(live, 'a', 4)).toEqual({ to: 'c', count: 4 });
    expect(planMoves(live, 'b', 4)).toEqual({ to: 'c', count: 4 });
    expect(planMoves(live, 'c', 4)).toBeNull();
  });

  it('moves nothing when the loads differ by less than two, or the node is not live', () => {
    expect(planMoves([{ id: 'a', channels: 11 }, { id: 'b', channels: 10 }], 'a', 5)).toBeNull();
    expect(planMoves([{ id: 'a', channels: 5 }], 'a', 5)).toBeNull();
    expect(planMoves([{ id: 'b', channels: 0 }], 'a', 5)).toBeNull();
  });
  it('plans nothing when moves are switched off (0)', () => {
    expect(planMoves([{ id: 'a', channels: 30 }, { id: 'b', channels: 0 }], 'a', 0)).toBeNull();
  });
});
