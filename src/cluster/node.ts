import { performance } from 'node:perf_hooks';
import type { ChannelService, ReleaseMode } from '../channel/service.js';
import type { ClusterStore, HeldLease, Placement } from '../store/cluster.js';
import type { ClusterConfig } from './config.js';
import { PlacementPasses } from './placement.js';
import { planMoves } from './rebalance.js';
import { LeaseRenewal, type OverdueRenewal } from './renewal.js';

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
/** Orphans the joining pass places at most: a node starting alone over a fleet takes it up in one pass, so readiness covers it. */
const START_PLACE_LIMIT = 20_000;
/** Channels created within this long of each other share one placement transaction. */
const PLACE_WINDOW_MS = 10;
/** A new channel whose placement keeps failing fails its creation after this long. */
const PLACE_WAIT_MS = 10_000;
const PLACE_RETRY_MS = 100;

/**
 * This process as a node of several on one PostgreSQL database (SPEC §10). Its leases are
 * renewed with its heartbeat, every `renewMs`, by a loop of their own (renewal.ts) that no other
 * work delays; if no renewal sent in the last `fenceMs` (< TTL) has succeeded, it halts every
 * engine before any of its leases can expire. Every `tickMs` it reads the leases it holds, runs
 * the channels it newly holds and halts those it lost, places channels nobody holds on the
 * least-loaded live node (placement.ts: one pass at a time, shared with the channels created
 * meanwhile), and now and then hands channels to a less-loaded node.
 */
export class ClusterNode {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private lastRebalanceAt = performance.now();
  private stopping = false;
  /**
   * When this node last took up or gave up each channel (monotonic ms): a read of its leases sent
   * before that says nothing of the channel (a creation's placement may have run meanwhile).
   */
  private readonly changedAt = new Map<string, number>();
  /** Collects the joining pass's adoptions, so start() resolves once they are under way; null once joined. */
  private adoptions: Array<Promise<void>> | null = null;
  private readonly renewal: LeaseRenewal;
  private readonly placements: PlacementPasses;
  /** Writes the store refused under a stale lease (a partitioned node coming back). */
  refusedWrites = 0;

  constructor(private readonly deps: ClusterNodeDeps) {
    const { cluster, config, nodeId, log } = deps;
    this.renewal = new LeaseRenewal({
      renew: () => cluster.renew(nodeId, config.ttlMs),
      renewMs: config.renewMs,
      fenceMs: config.fenceMs,
      onOverdue: (overdue) => this.fence(overdue),
      onTrouble: (fields, msg) => log.warn({ node: nodeId, ...fields }, msg),
    });
    this.placements = new PlacementPasses({
      place: (first) => cluster.place(config.ttlMs, Math.max(this.joining ? START_PLACE_LIMIT : PLACE_LIMIT, first.length), first),
      adopt: (placement) => this.adoptPlaced(placement),
      windowMs: PLACE_WINDOW_MS,
      waitMs: PLACE_WAIT_MS,
      retryMs: PLACE_RETRY_MS,
    });
  }

  get id(): string {
    return this.deps.nodeId;
  }

  /** The node's first lease pass is under way (start() has not resolved). */
  private get joining(): boolean {
    return this.adoptions !== null;
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
    await this.renewal.start();
    const adoptions: Array<Promise<void>> = [];
    this.adoptions = adoptions;
    await this.tick();
    this.adoptions = null;
    await Promise.all(adoptions);
    this.deps.log.info({ node: nodeId, node_url: url, channels: this.deps.channels.ownedLeases().size }, 'node joined');
    this.schedule();
  }

  /** Places a new channel (in the next placement pass); resolves once it runs here, if it was placed here. */
  placeNew(channelId: string): Promise<void> {
    return this.placements.placeNew(channelId);
  }

  /** A write was refused for a stale lease: the channel is halted here already. */
  noteRefused(channelId: string): void {
    this.changedAt.set(channelId, performance.now());
    this.refusedWrites++;
    this.deps.log.warn({ node: this.id, channelId, refused: this.refusedWrites }, 'write refused: the lease moved to another node; engine stopped');
  }

  /**
   * Leaves at once (SIGTERM): no new channels come here, every engine stops after its writes
   * land (the leases renewed meanwhile), and the leases go straight to the least-loaded live nodes.
   */
  async leave(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.placements.stop();
    await this.ticking;
    const { cluster, nodeId, config } = this.deps;
    await cluster.leave(nodeId, false).catch((err: unknown) => this.deps.log.warn({ err }, 'could not mark the node leaving'));
    await this.deps.channels.shutdown();
    await this.renewal.stop();
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
    const readAt = performance.now();
    const held = await cluster.heldLeases(nodeId);
    if (this.stopping) return;
    this.reconcile(held, readAt);
    if (this.renewal.overdue) return;
    const placeAt = performance.now();
    await this.placements.request();
    const rebalanceAt = performance.now();
    if (rebalanceAt - this.lastRebalanceAt >= config.rebalanceIntervalMs) {
      this.lastRebalanceAt = rebalanceAt;
      await this.rebalance();
    }
    // A pass this slow delays failover (orphans wait for the next one): say which part was slow.
    const done = performance.now();
    if (done - readAt > config.renewMs) {
      const phases = { read_ms: Math.round(placeAt - readAt), place_ms: Math.round(rebalanceAt - placeAt), rebalance_ms: Math.round(done - rebalanceAt) };
      this.deps.log.warn({ node: nodeId, took_ms: Math.round(done - readAt), ...phases }, 'lease pass slow');
    }
  }

  /** No renewal for fenceMs: halt every engine now, before any lease of ours can expire. */
  private fence(overdue: OverdueRenewal): void {
    if (this.stopping) return;
    const owned = [...this.deps.channels.ownedLeases().keys()];
    for (const id of owned) void this.release(id, 'lost');
    this.deps.log.warn(
      {
        node: this.id,
        channels: owned.length,
        since_renewal_ms: overdue.sinceRenewalMs,
        failures: overdue.failures,
        last_error: overdue.lastError,
        in_flight_ms: overdue.inFlightMs,
        loop_delay_max_ms: overdue.loopDelayMaxMs,
      },
      'lease renewal overdue: engines stopped',
    );
  }

  /** Gives a channel up here; a failure is logged (the lease is fenced in the database either way). */
  private release(channelId: string, mode: ReleaseMode): Promise<void> {
    this.changedAt.set(channelId, performance.now());
    return this.deps.channels.release(channelId, mode).catch((err: unknown) => this.deps.log.error({ err, node: this.id, channelId }, 'could not stop a channel this node gave up'));
  }

  /** Runs what the node now holds, halts what it no longer holds, by a read of its leases sent at `readAt`. */
  private reconcile(held: HeldLease[], readAt: number): void {
    const { channels } = this.deps;
    const owned = channels.ownedLeases();
    const leases = new Map(held.map((l) => [l.channelId, l]));
    const since = (id: string): boolean => (this.changedAt.get(id) ?? Number.NEGATIVE_INFINITY) >= readAt;
    let lost = 0;
    for (const [id, epoch] of owned) {
      if (leases.get(id)?.epoch === epoch || since(id)) continue;
      lost++;
      void this.release(id, 'lost');
    }
    if (lost > 0) this.deps.log.warn({ node: this.id, channels: lost }, 'leases lost: engines stopped');
    if (this.renewal.overdue) return;
    for (const lease of held) if (owned.get(lease.channelId) !== lease.epoch && !since(lease.channelId)) void this.adopt(lease);
  }

  /** Runs the channels a placement pass gave this node (none while its renewal is overdue: they wait for the next read of its leases). */
  private adoptPlaced(placement: Placement): Map<string, Promise<void>> {
    if (this.renewal.overdue || this.stopping) return new Map();
    return new Map(placement.assigned.filter((a) => a.nodeId === this.id).map((a) => [a.channelId, this.adopt(a)]));
  }

  /** Runs a channel under `lease`; the start it was created for is carried out once, then cleared. */
  private adopt(lease: HeldLease): Promise<void> {
    this.changedAt.set(lease.channelId, performance.now());
    const fence = { nodeId: this.id, epoch: lease.epoch };
    const adoption = this.deps.channels
      .adopt(lease.channelId, lease.epoch, lease.startPending)
      .then(async (runtime) => {
        // The node fenced itself while this adoption ran: the engine it started must not run on.
        if (this.renewal.overdue && runtime) await this.release(lease.channelId, 'lost');
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
    await Promise.all(ids.map((id) => this.release(id, 'handoff')));
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
