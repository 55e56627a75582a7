/** A node's load as placement sees it. */
export interface NodeLoad {
  id: string;
  channels: number;
}

/**
 * How many of its channels node `me` should hand to which node now: to the least-loaded live
 * node, half the difference, at most `maxMoves`, and nothing while the difference is below 2
 * (a move would only swap which node is one ahead). Each node plans for itself only.
 */
export function planMoves(live: NodeLoad[], me: string, maxMoves: number): { to: string; count: number } | null {
  const mine = live.find((n) => n.id === me);
  if (!mine) return null;
  let target: NodeLoad | null = null;
  for (const n of live) if (n.id !== me && (!target || n.channels < target.channels || (n.channels === target.channels && n.id < target.id))) target = n;
  if (!target) return null;
  const gap = mine.channels - target.channels;
  const count = Math.min(maxMoves, Math.floor(gap / 2));
  // WAGATE_REBALANCE_MOVES=0 switches rebalancing off.
  return count > 0 ? { to: target.id, count } : null;
}
