import type { EngineFactory } from '../engines/engine.js';
import { channelSettings } from '../webhooks/outbox.js';
import { errors } from '@wagate/protocol';
import type { Fence } from '../store/cluster.js';
import { LeaseLostError } from '../store/errors.js';
import type { ChannelRecord, EngineKind, OutboundEvent, Page, Store } from '../store/types.js';
import { resolvedWithin, type Clock } from './clock.js';
import type { LifecycleConfig } from './config.js';
import { ChannelEngineContext, type EngineHost } from './engine-context.js';
import { initialState, type LifecycleState } from './lifecycle.js';
import { ChannelRuntime, type RuntimeDeps } from './runtime.js';
import { hashToken, newChannelId, newToken } from './tokens.js';

export interface ChannelServiceDeps {
  store: Store;
  clock: Clock;
  engines: Partial<Record<EngineKind, EngineFactory>>;
  lifecycle: LifecycleConfig;
  random: () => number;
  version: string;
  defaultEngine: EngineKind;
  onCommitted?: (channelId: string, events: OutboundEvent[]) => void;
  onError?: (channelId: string, err: unknown) => void;
  /** The channel's token stopped working: rotated, or the channel deleted. */
  onRevoked?: (channelId: string) => void;
  onData?: RuntimeDeps['onData'];
  onStep?: RuntimeDeps['onStep'];
  onStoreFault?: RuntimeDeps['onStoreFault'];
  /** The proxy pool: a channel with proxy `auto` dials its pool proxy. */
  proxies?: { proxyFor(channelId: string, setting: string): { url: string; pooled: boolean } };
  /** Checks a proxy against the SSRF rules (pool proxies may be private); answers the URL to dial. */
  checkProxy?: (url: string, pooled: boolean) => Promise<string>;
  /** A connection through a channel's proxy failed (the real error, for the admin). */
  onProxyError?: (channelId: string, detail: string) => void;
  /**
   * Several nodes on one store (SPEC §10): this node's id. A channel's engine then runs only
   * while this node holds its lease (adopt); every other channel is held idle, writing nothing.
   */
  nodeId?: string;
  /** Several nodes: gives a new channel its owner, and runs it (adopt) if that is this node. */
  placeNew?: (channelId: string) => Promise<void>;
  /** Several nodes: a write was refused for a stale lease; the channel has been halted here. */
  onLeaseLost?: (channelId: string) => void;
}

/** Why a node gives a channel up: its lease is lost (halt at once) or handed on (let writes land first). */
export type ReleaseMode = 'lost' | 'handoff';

export interface CreateChannelInput {
  name: string;
  engine?: EngineKind;
  settings?: Record<string, unknown>;
  engineOptions?: Record<string, unknown>;
  /** Start the channel at once (default); false leaves it NOT_INIT until a wakeup. */
  start?: boolean;
}

/**
 * Channels restarted per turn of the event loop at boot. Large: a turn lets the first restarts'
 * next steps (LAUNCH, AUTH) queue for the store ahead of the later restarts, which readiness
 * waits for (250 per turn made readiness wait for nearly every channel's AUTH as well); the
 * store's group commit still writes in bounded transactions, answering requests between them.
 */
const RESUME_SLICE = 2000;

/** Owns every channel's runtime: creation, lookup by token, operator actions, boot and shutdown. */
export class ChannelService {
  private runtimes = new Map<string, ChannelRuntime>();
  private byTokenHash = new Map<string, string>();
  private adopting = new Map<string, Promise<ChannelRuntime | null>>();
  /** Channels halted here whose held writes are still being offered to the store. */
  private halted = new Map<string, Promise<void>>();

  /** Shared by every channel: per-channel closures cost memory at 10,000 channels. */
  private readonly engineHost: EngineHost;
  private readonly runtimeDeps: RuntimeDeps;

  constructor(private readonly deps: ChannelServiceDeps) {
    const store = deps.store;
    this.engineHost = {
      clock: deps.clock,
      proxyOf: (record) => this.proxyOf(record),
      checkProxy: deps.checkProxy,
      onProxyError: deps.onProxyError,
      getCredentials: (channelId, keys) => store.getCredentials(channelId, keys),
      setCredentials: (channelId, entries, fence) => this.fenced(channelId, store.setCredentials(channelId, entries, fence)),
      wipeCredentials: (channelId, fence) => this.fenced(channelId, store.wipeCredentials(channelId, fence)),
    };
    this.runtimeDeps = {
      store,
      clock: deps.clock,
      env: { config: deps.lifecycle, random: deps.random },
      version: deps.version,
      onCommitted: deps.onCommitted,
      // A refused stale write is the node losing the channel (noted by onLeaseLost), not a failure.
      onError: (channelId, err) => {
        if (!(err instanceof LeaseLostError)) deps.onError?.(channelId, err);
      },
      onData: deps.onData,
      onStep: deps.onStep,
      onStoreFault: deps.onStoreFault,
    };
  }

  /** Loads every channel without touching any: nothing is written until resume(). */
  async load(): Promise<void> {
    for (const record of await this.deps.store.allChannels()) this.attach(record, restoredState(record));
  }

  /** Resumes the loaded channels that were running when the gateway stopped (one process; nodes adopt instead). */
  async resume(): Promise<void> {
    if (this.isNode) return;
    const resumes: Promise<void>[] = [];
    let queued = 0;
    for (const runtime of this.runtimes.values()) {
      if (wasRunning(runtime.record)) {
        resumes.push(runtime.send({ type: 'restart', reason: 'gateway_boot' }));
        // A slice per turn of the loop, so queueing 10,000 restarts does not hold the loop at once.
        if (++queued % RESUME_SLICE === 0) await new Promise<void>((r) => setImmediate(r));
      }
    }
    await Promise.all(resumes);
  }

  /**
   * Runs a channel whose lease this node now holds: its record fresh from the store, the engine
   * resumed from stored credentials (INIT → LAUNCH → AUTH) if it was running, or started if it
   * was created to start. Answers null when the channel is gone.
   */
  async adopt(channelId: string, epoch: number, startPending: boolean): Promise<ChannelRuntime | null> {
    // One adoption per channel at a time (a node's pass and a creation may both ask).
    const running = this.adopting.get(channelId);
    if (running) return running;
    const adoption = this.adoptNow(channelId, epoch, startPending).finally(() => this.adopting.delete(channelId));
    this.adopting.set(channelId, adoption);
    return adoption;
  }

  private async adoptNow(channelId: string, epoch: number, startPending: boolean): Promise<ChannelRuntime | null> {
    const nodeId = this.requireNode();
    const previous = this.runtimes.get(channelId);
    if (previous?.fence?.epoch === epoch) return previous;
    // A halted runtime may still be offering held writes (the store takes them only under their
    // lease): let them land or be refused first, so two runtimes never write at once.
    await this.halted.get(channelId);
    const record = await this.deps.store.getChannel(channelId);
    if (!record) {
      if (previous) this.forget(previous);
      return null;
    }
    if (previous) {
      this.byTokenHash.delete(previous.record.tokenHash);
      previous.halt();
    }
    const runtime = this.attach(record, restoredState(record), { nodeId, epoch });
    if (startPending && !record.stopped) await runtime.send({ type: 'start', reason: 'created' });
    else if (wasRunning(record)) await runtime.send({ type: 'restart', reason: 'lease_acquired' });
    return runtime;
  }

  /**
   * Gives a channel up on this node: `lost` halts the engine at once (held writes are offered to
   * the store, which refuses them if the lease moved on); `handoff` stops it after its writes
   * land. Either way the channel stays known here, idle, writing nothing.
   */
  async release(channelId: string, mode: ReleaseMode): Promise<void> {
    const nodeId = this.requireNode();
    const runtime = this.runtimes.get(channelId);
    if (!runtime || !runtime.fence || runtime.fence.epoch === 0) return;
    // The idle stand-in takes the channel's place first, so nothing new reaches the old runtime.
    this.attach(runtime.record, runtime.state, { nodeId, epoch: 0 });
    if (mode === 'handoff') return runtime.shutdown();
    runtime.halt();
    const settled = resolvedWithin(this.deps.clock, runtime.settled(), HALTED_WRITES_WAIT_MS, undefined).finally(() => {
      if (this.halted.get(channelId) === settled) this.halted.delete(channelId);
    });
    this.halted.set(channelId, settled);
  }

  /** True when several nodes share the store (this one may not know every channel yet). */
  get isNode(): boolean {
    return this.deps.nodeId !== undefined;
  }

  /** Whether this node runs the channel's engine now (holds its lease). */
  runsHere(channelId: string): boolean {
    const fence = this.runtimes.get(channelId)?.fence;
    return fence === undefined ? this.runtimes.has(channelId) : fence.epoch > 0;
  }

  /** The channels this node runs, with the epoch of each one's lease. */
  ownedLeases(): Map<string, number> {
    const owned = new Map<string, number>();
    for (const r of this.runtimes.values()) if (r.fence && r.fence.epoch > 0) owned.set(r.id, r.fence.epoch);
    return owned;
  }

  /**
   * Several nodes: a channel as the database has it, for one this node does not run: known here
   * idle (it writes nothing) if it was not, else brought up to date (status, settings, token).
   * A channel this node runs is left alone: its own view is the truth.
   */
  track(record: ChannelRecord): ChannelRuntime {
    const current = this.runtimes.get(record.id);
    if (!current) return this.attach(record, restoredState(record));
    if (this.runsHere(record.id) || sameRecord(current.record, record)) return current;
    if (current.record.tokenHash !== record.tokenHash) this.retoken(current, record.tokenHash);
    Object.assign(current.record, record);
    current.state = restoredState(record);
    return current;
  }

  /** Several nodes: a channel deleted on another node is forgotten here (unless it runs here). */
  untrack(channelId: string): void {
    const runtime = this.runtimes.get(channelId);
    if (!runtime || this.runsHere(channelId)) return;
    this.forget(runtime);
    this.deps.onRevoked?.(channelId);
  }

  /** Several nodes: the channel of a token this node does not know, if another node created it. */
  async discover(tokenHash: string): Promise<ChannelRuntime | undefined> {
    if (!this.isNode) return undefined;
    const record = await this.deps.store.findChannelByTokenHash(tokenHash);
    return record ? this.track(record) : undefined;
  }

  /** Creates a channel; answers it with its token (the only time the token is shown). */
  async create(input: CreateChannelInput): Promise<{ runtime: ChannelRuntime; token: string }> {
    const engine = input.engine ?? this.deps.defaultEngine;
    if (!this.deps.engines[engine]) throw errors.badRequest(`engine "${engine}" is not available on this gateway`);
    const token = newToken();
    const record = await this.deps.store.createChannel({
      id: await this.freshId(),
      name: input.name,
      engine,
      tokenHash: hashToken(token),
      createdAt: this.deps.clock.now(),
      settings: input.settings ?? {},
      engineOptions: input.engineOptions ?? {},
      ...(this.isNode ? { startOnPlacement: input.start !== false } : {}),
    });
    if (this.isNode) return { runtime: await this.placeCreated(record), token };
    const runtime = this.attach(record, initialState(record.createdAt));
    if (input.start !== false) await runtime.send({ type: 'start', reason: 'created' });
    return { runtime, token };
  }

  /** The channel with this id, or a 404. */
  get(id: string): ChannelRuntime {
    const runtime = this.runtimes.get(id);
    if (!runtime) throw errors.notFound(`channel ${id} does not exist`);
    return runtime;
  }

  /** The channel with this id, if it exists. */
  find(id: string): ChannelRuntime | undefined {
    return this.runtimes.get(id);
  }

  /** The channel this token belongs to, if any. */
  byToken(token: string): ChannelRuntime | undefined {
    const id = this.byTokenHash.get(hashToken(token));
    return id ? this.runtimes.get(id) : undefined;
  }

  /** Every channel, oldest first. */
  all(): IterableIterator<ChannelRuntime> {
    return this.runtimes.values();
  }

  /** Channels oldest first, paged. */
  list(page: Page): { channels: ChannelRuntime[]; total: number } {
    const all = [...this.runtimes.values()];
    return { channels: all.slice(page.offset, page.offset + page.count), total: all.length };
  }

  /** How many channels are retrying a commit the store refused (readiness). */
  failingCommits(): number {
    let n = 0;
    for (const r of this.runtimes.values()) if (r.storeFailing) n++;
    return n;
  }

  get size(): number {
    return this.runtimes.size;
  }

  /** Deletes a channel: its engine stops and its credentials, history and events go. */
  async remove(id: string): Promise<void> {
    const runtime = this.get(id);
    this.runtimes.delete(id);
    this.byTokenHash.delete(runtime.record.tokenHash);
    this.deps.onRevoked?.(id);
    await runtime.shutdown();
    await this.deps.store.deleteChannel(id);
  }

  /** Ends the current run and starts a new one. */
  async restart(id: string): Promise<ChannelRuntime> {
    const runtime = this.get(id);
    await this.setStopped(runtime, false);
    await runtime.send({ type: 'restart', reason: 'operator_restart' });
    return runtime;
  }

  /** Deactivates the channel (STOP); it stays stopped across gateway restarts. */
  async stop(id: string): Promise<ChannelRuntime> {
    const runtime = this.get(id);
    await this.setStopped(runtime, true);
    await runtime.send({ type: 'stop', reason: 'operator_stop' });
    return runtime;
  }

  /** Starts a stopped, failed or never-started channel. */
  async start(id: string): Promise<ChannelRuntime> {
    const runtime = this.get(id);
    await this.setStopped(runtime, false);
    await runtime.send({ type: 'start', reason: 'operator_start' });
    return runtime;
  }

  /** Replaces the channel's token; the old one stops working at once. */
  async rotateToken(id: string): Promise<{ runtime: ChannelRuntime; token: string }> {
    const runtime = this.get(id);
    const token = newToken();
    const tokenHash = hashToken(token);
    await this.deps.store.updateChannel(id, { tokenHash });
    this.retoken(runtime, tokenHash);
    return { runtime, token };
  }

  /** Saves new settings for a channel (a new object: cached parses key on its identity). */
  async saveSettings(runtime: ChannelRuntime, settings: Record<string, unknown>): Promise<void> {
    const copy = structuredClone(settings);
    await this.deps.store.updateChannel(runtime.id, { settings: copy });
    runtime.record.settings = copy;
    // A channel that turned to (or from) proxy "auto" takes (or leaves) its pool proxy now.
    this.proxyOf(runtime.record);
  }

  /** Stops every engine; records nothing, so the next boot resumes the same channels. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.shutdown()));
  }

  /** A new channel on a node: placed on the least-loaded live node, and running here only if that is this one. */
  private async placeCreated(record: ChannelRecord): Promise<ChannelRuntime> {
    const nodeId = this.requireNode();
    const idle = this.attach(record, initialState(record.createdAt), { nodeId, epoch: 0 });
    await this.deps.placeNew?.(record.id);
    return this.runtimes.get(record.id) ?? idle;
  }

  private requireNode(): string {
    if (this.deps.nodeId === undefined) throw new Error('channel leases need a node (several nodes on PostgreSQL)');
    return this.deps.nodeId;
  }

  /** The channel answers to `tokenHash` from now on; its old token stops working at once. */
  private retoken(runtime: ChannelRuntime, tokenHash: string): void {
    this.byTokenHash.delete(runtime.record.tokenHash);
    runtime.record.tokenHash = tokenHash;
    this.byTokenHash.set(tokenHash, runtime.id);
    this.deps.onRevoked?.(runtime.id);
  }

  /** Drops a channel deleted elsewhere from this node's map. */
  private forget(runtime: ChannelRuntime): void {
    this.runtimes.delete(runtime.id);
    this.byTokenHash.delete(runtime.record.tokenHash);
    runtime.halt();
  }

  private attach(record: ChannelRecord, state: LifecycleState, lease?: Fence): ChannelRuntime {
    // On a node, a channel without a lease here writes under epoch 0, which the store always refuses.
    const fence = lease ?? (this.deps.nodeId === undefined ? undefined : { nodeId: this.deps.nodeId, epoch: 0 });
    const factory = this.deps.engines[record.engine];
    if (!factory) throw new Error(`engine "${record.engine}" of channel ${record.id} is not available`);
    const engine = factory(new ChannelEngineContext(this.engineHost, record, fence));
    // Only a node's channels carry a lease, and their own way to report losing it.
    const deps = fence ? { ...this.runtimeDeps, fence, onLeaseLost: () => this.leaseLost(record.id, fence) } : this.runtimeDeps;
    const runtime = new ChannelRuntime(record, state, engine, deps);
    this.runtimes.set(record.id, runtime);
    this.byTokenHash.set(record.tokenHash, record.id);
    this.proxyOf(record);
    return runtime;
  }

  /** A credentials write refused for a stale lease stops the channel as a refused commit does. */
  private async fenced(channelId: string, write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (err) {
      if (err instanceof LeaseLostError) this.leaseLost(channelId, this.runtimes.get(channelId)?.fence);
      throw err;
    }
  }

  /** The store refused a write of the runtime holding `fence`: halt it, if it is still the live one. */
  private leaseLost(channelId: string, fence: Fence | undefined): void {
    if (!fence || fence.epoch === 0) return;
    // A runtime halted earlier (its node fenced itself) is no longer the live one: only noted.
    const halted = this.runtimes.get(channelId)?.fence === fence ? this.release(channelId, 'lost') : Promise.resolve();
    void halted.then(
      () => this.deps.onLeaseLost?.(channelId),
      (err: unknown) => this.deps.onError?.(channelId, err),
    );
  }

  /** The proxy a channel's next connection uses: its setting, or its pool proxy for `auto`. */
  private proxyOf(record: ChannelRecord): { url: string; pooled: boolean } {
    const setting = channelSettings(record.settings).proxy;
    return this.deps.proxies?.proxyFor(record.id, setting) ?? { url: setting === 'auto' ? '' : setting, pooled: false };
  }

  private async setStopped(runtime: ChannelRuntime, stopped: boolean): Promise<void> {
    if (runtime.record.stopped === stopped) return;
    await this.deps.store.updateChannel(runtime.id, { stopped });
    runtime.record.stopped = stopped;
  }

  private async freshId(): Promise<string> {
    for (;;) {
      const id = newChannelId();
      if (!this.runtimes.has(id) && !(await this.deps.store.getChannel(id))) return id;
    }
  }
}

/** How long a new runtime waits at most for a halted one's held writes (a store that never answers). */
const HALTED_WRITES_WAIT_MS = 10_000;

/** Whether a stored channel was running (resumed on boot or adoption): not stopped, not NOT_INIT or ERROR. */
function wasRunning(record: ChannelRecord): boolean {
  return !record.stopped && record.status !== 'NOT_INIT' && record.status !== 'ERROR';
}

/** Whether two reads of a channel row say the same (a node re-reads every channel often). */
function sameRecord(a: ChannelRecord, b: ChannelRecord): boolean {
  return (
    a.status === b.status &&
    a.statusSince === b.statusSince &&
    a.statusReason === b.statusReason &&
    a.statusDetail === b.statusDetail &&
    a.tokenHash === b.tokenHash &&
    a.stopped === b.stopped &&
    a.name === b.name &&
    a.startAt === b.startAt &&
    a.user?.id === b.user?.id &&
    a.user?.name === b.user?.name &&
    JSON.stringify(a.settings) === JSON.stringify(b.settings)
  );
}

/** The lifecycle state of a channel loaded from the store. */
function restoredState(record: ChannelRecord): LifecycleState {
  const state = initialState(record.createdAt, record.user);
  return {
    ...state,
    status: record.stopped ? 'STOP' : record.status,
    reason: record.statusReason,
    detail: record.statusDetail,
    statusSince: record.statusSince,
    startAt: record.startAt,
  };
}
