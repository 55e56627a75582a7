import type { EngineFactory } from '../engines/engine.js';
import { channelSettings } from '../webhooks/outbox.js';
import { errors } from '@wagate/protocol';
import type { ChannelRecord, EngineKind, OutboundEvent, Page, Store } from '../store/types.js';
import type { Clock } from './clock.js';
import type { LifecycleConfig } from './config.js';
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
}

export interface CreateChannelInput {
  name: string;
  engine?: EngineKind;
  settings?: Record<string, unknown>;
  engineOptions?: Record<string, unknown>;
  /** Start the channel at once (default); false leaves it NOT_INIT until a wakeup. */
  start?: boolean;
}

/** Owns every channel's runtime: creation, lookup by token, operator actions, boot and shutdown. */
export class ChannelService {
  private runtimes = new Map<string, ChannelRuntime>();
  private byTokenHash = new Map<string, string>();

  constructor(private readonly deps: ChannelServiceDeps) {}

  /** Loads every channel without touching any: nothing is written until resume(). */
  async load(): Promise<void> {
    for (const record of await this.deps.store.allChannels()) this.attach(record, restoredState(record));
  }

  /** Resumes the loaded channels that were running when the gateway stopped. */
  async resume(): Promise<void> {
    const resumes: Promise<void>[] = [];
    for (const runtime of this.runtimes.values()) {
      const { record } = runtime;
      if (!record.stopped && record.status !== 'NOT_INIT' && record.status !== 'ERROR') {
        resumes.push(runtime.send({ type: 'restart', reason: 'gateway_boot' }));
      }
    }
    await Promise.all(resumes);
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
    });
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
    this.byTokenHash.delete(runtime.record.tokenHash);
    runtime.record.tokenHash = tokenHash;
    this.byTokenHash.set(tokenHash, id);
    this.deps.onRevoked?.(id);
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

  private attach(record: ChannelRecord, state: LifecycleState): ChannelRuntime {
    const factory = this.deps.engines[record.engine];
    if (!factory) throw new Error(`engine "${record.engine}" of channel ${record.id} is not available`);
    const store = this.deps.store;
    const engine = factory({
      channelId: record.id,
      clock: this.deps.clock,
      options: record.engineOptions,
      proxy: () => this.proxyOf(record).url,
      dialProxy: async () => {
        const { url, pooled } = this.proxyOf(record);
        return url && this.deps.checkProxy ? this.deps.checkProxy(url, pooled) : url;
      },
      onProxyError: (detail) => this.deps.onProxyError?.(record.id, detail),
      credentials: {
        get: (keys) => store.getCredentials(record.id, keys),
        set: (entries) => store.setCredentials(record.id, entries),
        wipe: () => store.wipeCredentials(record.id),
      },
    });
    const runtime = new ChannelRuntime(record, state, engine, {
      store,
      clock: this.deps.clock,
      env: { config: this.deps.lifecycle, random: this.deps.random },
      version: this.deps.version,
      onCommitted: this.deps.onCommitted,
      onError: this.deps.onError,
      onData: this.deps.onData,
      onStep: this.deps.onStep,
      onStoreFault: this.deps.onStoreFault,
    });
    this.runtimes.set(record.id, runtime);
    this.byTokenHash.set(record.tokenHash, record.id);
    this.proxyOf(record);
    return runtime;
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
