/** How a node holds its leases (SPEC §10). All in ms; renewMs < fenceMs < ttlMs. */
export interface ClusterConfig {
  /** WAGATE_NODE_ID; null: a stable id kept in the data directory. */
  nodeId: string | null;
  /** WAGATE_NODE_URL: where peers reach this node; null: its listen address. */
  nodeUrl: string | null;
  /** A lease not renewed for this long expires and its channel goes to another node. */
  ttlMs: number;
  /** Every lease of the node is renewed this often, in one statement (with the heartbeat). */
  renewMs: number;
  /** A node whose last renewal began this long ago stops its engines: before any lease can expire. */
  fenceMs: number;
  /** How often a node looks for new leases of its own and places orphaned channels. */
  tickMs: number;
  /** How often an overloaded node hands channels to the least-loaded one, and how many at most. */
  rebalanceIntervalMs: number;
  rebalanceMoves: number;
}

export const DEFAULT_CLUSTER: ClusterConfig = {
  nodeId: null,
  nodeUrl: null,
  ttlMs: 15_000,
  renewMs: 5_000,
  fenceMs: 10_000,
  tickMs: 1_000,
  rebalanceIntervalMs: 5_000,
  rebalanceMoves: 10,
};

/** Throws unless renewals come well before the self-fence, and the self-fence before expiry. */
export function checkClusterTimings(c: ClusterConfig): void {
  if (!(c.renewMs < c.fenceMs && c.fenceMs < c.ttlMs)) {
    throw new Error(
      `WAGATE_LEASE_RENEW_MS (${c.renewMs}) < WAGATE_LEASE_FENCE_MS (${c.fenceMs}) < WAGATE_LEASE_TTL_MS (${c.ttlMs}) must hold: a node stops its engines before its leases can expire`,
    );
  }
}
