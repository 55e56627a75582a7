import { performance } from 'node:perf_hooks';
import type { ChannelService } from '../channel/service.js';
import type { ClusterStore, HeldLease, Placement } from '../store/cluster.js';
import type { ClusterConfig } from './config.js';
import { planMoves } from './rebalance.js';

/** Structured logging (pino's shape); never a token or a body. */
export interface NodeLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface ClusterNodeDeps {
  cluster: ClusterStore;
  channels: ChannelService;
  config: ClusterConfig;
  nodeId: string;
  log: NodeLog;
}

/** Orphans placed per pass at most: a failover of thousands goes out over a few passes. */
const PLACE_LIMIT = 1000;

/**
 * This process as a node of several on one PostgreSQL database (SPEC §10). Every `tickMs` it
 * reads (every `renewMs` renews, with its heartbeat, in one statement) the leases it holds,
 * runs the channels it newly holds and halts those it lost, places channels nobody holds on the
 * least-loaded live node, and now and then hands channels to a less-loaded node. If no renewal
 * has succeeded for `fenceMs` (< TTL), it halts every engine before any of its leases can expire.
 */
export class ClusterNode {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private fenceTimer: ReturnType<typeof setTimeout> | null = null;
  private ticking: Promise<void> = Promise.resolve();
  /** When the last successful renewal was sent (monotonic ms). */
  private lastRenewAt = Number.NEGATIVE_INFINITY;
  private lastRebalanceAt = performance.now();
  private stopping = false;
  /** Collects the first pass's adoptions, so start() resolves once they are under way. */
  private adoptions: Array<Promise<void>> | null = null;
  /** Writes the store refused under a stale lease (a partitioned node coming back). */
  refusedWrites = 0;

  constructor(private readonly deps: ClusterNodeDeps) {}

  get id(): string {
    return this.deps.nodeId;
  }

  /**
   * Registers the node and runs its first leases (resolves once their restarts are recorded);
   * the loop runs until leave(). `exclusive`: the id is this process's alone (its data directory
   * is locked), so an earlier run's live-looking row is a crash, not a twin, and need not age out.
   */
  async start(url: string, exclusive: boolean): Promise<void> {
    const { cluster, nodeId } = this.deps;
    if (!exclusive) await this.waitUntilIdIsFree();
    await cluster.registerNode({ id: nodeId, url, startedAt: Date.now() });
    // Leases an earlier run of this node left go out anew, each with a new epoch.
    await cluster.release(nodeId);
    const adoptions: Array<Promise<void>> = [];
    this.adoptions = adoptions;
    await this.tick();
    this.adoptions = null;
    await Promise.all(adoptions);
    this.deps.log.info({ node: nodeId, node_url: url, channels: this.deps.channels.ownedLeases().size }, 'node joined');
    this.schedule();
  }

  /** Places a new channel (with the orphans of the moment); resolves once it runs here, if it was placed here. */
  async placeNew(channelId: string): Promise<void> {
    const placement = await this.deps.cluster.place(this.deps.config.ttlMs, PLACE_LIMIT, [channelId]);
    await this.adoptPlaced(placement);
  }

  /** A write was refused for a stale lease: the channel is halted here already. */
  noteRefused(channelId: string): void {
    this.refusedWrites++;
    this.deps.log.warn({ node: this.id, channelId, refused: this.refusedWrites }, 'write refused: the lease moved to another node; engine stopped');
  }

  /**
   * Leaves at once (SIGTERM): no new channels come here, every engine stops after its writes
   * land, and the leases go straight to the least-loaded live nodes.
   */
  async leave(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    await this.ticking;
    const { cluster, nodeId, config } = this.deps;
    await cluster.leave(nodeId, false).catch((err: unknown) => this.deps.log.warn({ err }, 'could not mark the node leaving'));
    await this.deps.channels.shutdown();
    try {
      const released = await cluster.release(nodeId);
      const placed = await cluster.place(config.ttlMs, PLACE_LIMIT);
      await cluster.leave(nodeId, true);
      this.deps.log.info({ node: nodeId, released, placed: placed.assigned.length }, 'node left; its channels were handed over');
    } catch (err) {
      // Unreachable database: the leases expire after the TTL and the others take them then.
      this.deps.log.warn({ err, node: nodeId }, 'could not hand the channels over; they move when their leases expire');
    }
  }

  private schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.deps.log.warn({ err, node: this.id }, 'lease pass failed'))
        .finally(() => this.schedule());
    }, this.deps.config.tickMs);
  }

  private async tick(): Promise<void> {
    const { cluster, config, nodeId } = this.deps;
    const began = performance.now();
    let held: HeldLease[];
    if (began - this.lastRenewAt >= config.renewMs) {
      held = await cluster.renew(nodeId, config.ttlMs);
      this.renewed(began);
    } else {
      held = await cluster.heldLeases(nodeId);
    }
    if (this.stopping) return;
    this.reconcile(held);
    if (this.fenced()) return;
    void this.adoptPlaced(await cluster.place(config.ttlMs, PLACE_LIMIT));
    if (performance.now() - this.lastRebalanceAt >= config.rebalanceIntervalMs) {
      this.lastRebalanceAt = performance.now();
      await this.rebalance();
    }
  }

  /** A renewal sent at `sentAt` succeeded: every lease now outlives sentAt + TTL; fence before that. */
  private renewed(sentAt: number): void {
    this.lastRenewAt = sentAt;
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    const delay = Math.max(0, sentAt + this.deps.config.fenceMs - performance.now());
    this.fenceTimer = setTimeout(() => this.fence(), delay);
  }

  private fenced(): boolean {
    return performance.now() - this.lastRenewAt >= this.deps.config.fenceMs;
  }

  /** No renewal for fenceMs: halt every engine now, before any lease of ours can expire. */
  private fence(): void {
    if (this.stopping) return;
    const owned = [...this.deps.channels.ownedLeases().keys()];
    for (const id of owned) void this.deps.channels.release(id, 'lost');
    this.deps.log.warn({ node: this.id, channels: owned.length, since_renewal_ms: Math.round(performance.now() - this.lastRenewAt) }, 'lease renewal overdue: engines stopped');
  }

  /** Runs what the node now holds, halts what it no longer holds. */
  private reconcile(held: HeldLease[]): void {
    const { channels } = this.deps;
    const owned = channels.ownedLeases();
    const leases = new Map(held.map((l) => [l.channelId, l]));
    let lost = 0;
    for (const [id, epoch] of owned) {
      if (leases.get(id)?.epoch === epoch) continue;
      lost++;
      void channels.release(id, 'lost');
    }
    if (lost > 0) this.deps.log.warn({ node: this.id, channels: lost }, 'leases lost: engines stopped');
    if (this.fenced()) return;
    for (const lease of held) if (owned.get(lease.channelId) !== lease.epoch) void this.adopt(lease);
  }

  private async adoptPlaced(placement: Placement): Promise<void> {
    await Promise.all(placement.assigned.filter((a) => a.nodeId === this.id).map((a) => this.adopt(a)));
  }

  /** Runs a channel under `lease`; the start it was created for is carried out once, then cleared. */
  private adopt(lease: HeldLease): Promise<void> {
    const fence = { nodeId: this.id, epoch: lease.epoch };
    const adoption = this.deps.channels
      .adopt(lease.channelId, lease.epoch, lease.startPending)
      .then(async (runtime) => {
        this.deps.log.info({ node: this.id, channelId: lease.channelId, epoch: lease.epoch, start: lease.startPending, status: runtime?.state.status ?? null }, 'channel lease taken');
        if (lease.startPending) await this.deps.cluster.clearStartPending(lease.channelId, fence);
      })
      .catch((err: unknown) => this.deps.log.error({ err, channelId: lease.channelId }, 'could not run a channel this node holds'));
    this.adoptions?.push(adoption);
    return adoption;
  }

  /** Hands a bounded number of channels to the least-loaded live node when this one has clearly more. */
  private async rebalance(): Promise<void> {
    const { cluster, config, channels, nodeId } = this.deps;
    const live = (await cluster.listNodes(config.ttlMs)).filter((n) => n.live);
    const plan = planMoves(live, nodeId, config.rebalanceMoves);
    if (!plan) return;
    // A channel showing a QR is not moved while others can be: the QR someone may be scanning would die with it.
    const pairing = (id: string): boolean => channels.find(id)?.state.status === 'QR';
    const ids = [...channels.ownedLeases().keys()].sort((a, b) => Number(pairing(a)) - Number(pairing(b))).slice(0, plan.count);
    await Promise.all(ids.map((id) => channels.release(id, 'handoff')));
    const moved = await cluster.handOff(nodeId, ids, plan.to, config.ttlMs);
    this.deps.log.info({ node: nodeId, to: plan.to, channels: moved.assigned.length }, 'rebalance: channels handed over');
  }

  /** Another process may still be this node id (a crash a moment ago): wait for its heartbeat to go stale. */
  private async waitUntilIdIsFree(): Promise<void> {
    const { cluster, config, nodeId } = this.deps;
    const deadline = performance.now() + config.ttlMs + config.renewMs;
    for (;;) {
      const me = (await cluster.listNodes(config.ttlMs)).find((n) => n.id === nodeId);
      if (!me?.live) return;
      if (performance.now() > deadline) throw new Error(`node id ${nodeId} is in use by a live node at ${me.url}: give each node its own WAGATE_NODE_ID`);
      this.deps.log.warn({ node: nodeId }, 'node id has a live heartbeat (an earlier run?); waiting for it to go stale');
      await new Promise((r) => setTimeout(r, Math.min(1000, config.ttlMs / 4)));
    }
  }
}
