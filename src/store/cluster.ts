import type { ChannelRecord } from './types.js';

/**
 * The store's side of several nodes on one PostgreSQL database (SPEC §10): who the nodes are,
 * which node holds each channel's lease, and the epoch every owner-only write carries.
 */

/** The lease a write is made under: refused by the database once the lease has moved on. */
export interface Fence {
  nodeId: string;
  epoch: number;
}

/** A gateway process as it registered itself. */
export interface NodeRecord {
  id: string;
  /** Where its peers reach it (WAGATE_NODE_URL, else its listen address). */
  url: string;
  startedAt: number; // unix ms
  heartbeatAt: number; // unix ms, the database's clock
  /** `leaving` from its SIGTERM on; such a node gets no channels. */
  state: 'up' | 'leaving';
  /** Heartbeat within the lease TTL and not leaving. */
  live: boolean;
  /** Channels whose unexpired lease it holds. */
  channels: number;
}

/** A channel's owner, when some node holds an unexpired lease on it. */
export interface ChannelOwner {
  nodeId: string;
  url: string;
  epoch: number;
  expiresAt: number; // unix ms, the database's clock
}

/** A lease held by a node. `startPending`: the channel was created to start, and nobody has yet. */
export interface HeldLease {
  channelId: string;
  epoch: number;
  startPending: boolean;
}

/** Timings of the leases (ms): renew well before the TTL, and self-fence before it too. */
export interface LeaseTimings {
  ttlMs: number;
}

/** What placement did in one pass. */
export interface Placement {
  /** Leases given out: channel → the node that now holds it, its new epoch, and whether it is to be started. */
  assigned: Array<{ channelId: string; nodeId: string; epoch: number; startPending: boolean }>;
}

/** Nodes and leases, kept in PostgreSQL (absent on SQLite: one process per data directory). */
export interface ClusterStore {
  /** Inserts or refreshes this node's row (state `up`, heartbeat now). */
  registerNode(node: { id: string; url: string; startedAt: number }): Promise<void>;
  /** Every node with its liveness and load, by id. */
  listNodes(ttlMs: number): Promise<NodeRecord[]>;
  /** The node holding the channel's unexpired lease, or null. */
  channelOwner(channelId: string): Promise<ChannelOwner | null>;
  /** Owners of many channels (absent: no live lease). */
  channelOwners(channelIds: string[]): Promise<Map<string, ChannelOwner>>;
  /**
   * The heartbeat and the renewal of every unexpired lease of the node, in one statement on a
   * connection of its own; answers how many leases it renewed (an expired one is lost, never renewed).
   */
  renew(nodeId: string, ttlMs: number): Promise<number>;
  /** The node's unexpired leases (assignments made by other nodes show up here). */
  heldLeases(nodeId: string): Promise<HeldLease[]>;
  /**
   * Gives every channel without an unexpired lease to the least-loaded live node, at most
   * `limit` of them, the channels in `first` before the others; one node places at a time
   * (others wait). A channel created to start keeps that wish on its lease (`startPending`).
   */
  place(ttlMs: number, limit: number, first?: string[]): Promise<Placement>;
  /** Hands the node's leases on these channels to `toNode` (new epoch); answers the moved ones. */
  handOff(nodeId: string, channelIds: string[], toNode: string, ttlMs: number): Promise<Placement>;
  /** Gives up the node's leases (all, or these channels) at once: others take them on their next pass. */
  release(nodeId: string, channelIds?: string[]): Promise<number>;
  /** Clears the start a new owner carried out. */
  clearStartPending(channelId: string, fence: Fence): Promise<void>;
  /** Channels created at or after `since` (unix ms), oldest first: how a node learns of channels made elsewhere. */
  channelsCreatedSince(since: number): Promise<ChannelRecord[]>;
  /** Marks the node `leaving` (it gets no channels) or removes it. */
  leave(nodeId: string, remove: boolean): Promise<void>;
}
