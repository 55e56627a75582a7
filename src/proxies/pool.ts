import { randomBytes } from 'node:crypto';
import type { Clock } from '../channel/clock.js';
import type { Effect } from '../channel/lifecycle.js';
import { errors, PROXY_SCHEMES, type ProxyInput, type ProxyView } from '@wagate/protocol';
import type { ProxyContext } from '../remediation/policy.js';
import type { ProxySeam } from '../remediation/service.js';
import type { ProxyRecord, Store } from '../store/types.js';
import type { OutboundGuard } from '../webhooks/guard.js';
import { checkProxyUrl, ProxyRefused, redactedProxyUrl } from './address.js';
import { healthRank, ProxyHealthBook } from './health.js';
import { probeProxy } from './probe.js';

export interface ProxyPoolDeps {
  store: Store;
  clock: Clock;
  /** The lifecycle's flap rule: flaps of other channels count within its window. */
  flap: { drops: number; windowMs: number };
  /** The SSRF guard pool proxies go through (with private addresses allowed). */
  guard: OutboundGuard;
  /** Checks that a quarantined proxy answers before it is released (default: probeProxy). */
  probe?: (url: string) => Promise<string | null>;
  onError?: (err: unknown) => void;
}

/**
 * The partner's proxy pool (SPEC §11): proxies, their state, which one each `auto` channel is on,
 * and their health from the channels using them. Held in memory (an engine asks for its proxy
 * synchronously) and written through to the store.
 */
export class ProxyPool implements ProxySeam {
  private proxies = new Map<string, ProxyRecord>();
  private assigned = new Map<string, string>();
  private readonly health: ProxyHealthBook;

  constructor(private readonly deps: ProxyPoolDeps) {
    // Twice the flapping threshold in an hour: the restart did not help and the proxy is the suspect.
    this.health = new ProxyHealthBook({ badDropsPerHour: deps.flap.drops * 2, badFailedPerHour: 5 });
  }

  /** Loads the pool from the store (at boot). */
  async load(): Promise<void> {
    for (const p of await this.deps.store.listProxies()) this.proxies.set(p.id, p);
    for (const a of await this.deps.store.proxyAssignments()) this.assigned.set(a.channelId, a.proxyId);
  }

  /** Every proxy, oldest first, with its channels and health. */
  list(): ProxyView[] {
    return [...this.proxies.values()].map((p) => this.view(p));
  }

  /** `PUT /partner/proxies`: checks the URL (private hosts allowed: the admin sets the pool) and adds it. */
  async add(input: ProxyInput): Promise<ProxyView> {
    try {
      await checkProxyUrl(input.url, this.deps.guard, PROXY_SCHEMES);
    } catch (err) {
      if (err instanceof ProxyRefused) throw errors.badRequest(`url: ${err.message}`);
      throw errors.badRequest(`url: the host does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
    }
    const now = this.deps.clock.now();
    const record: ProxyRecord = { id: `px_${randomId()}`, url: input.url, label: input.label, region: input.region ?? null, state: 'active', stateReason: null, stateSince: now, createdAt: now };
    await this.deps.store.saveProxy(record);
    this.proxies.set(record.id, record);
    return this.view(record);
  }

  /** Deletes a proxy; its channels get another pool proxy at their next connection. */
  async remove(id: string): Promise<void> {
    this.get(id);
    await this.deps.store.deleteProxy(id);
    this.proxies.delete(id);
    this.health.forget(id);
    for (const [channel, proxy] of this.assigned) if (proxy === id) this.assigned.delete(channel);
  }

  /** Quarantines a proxy: it gets no new channels; those on it stay until they move. */
  async quarantine(id: string, reason: string): Promise<ProxyView> {
    const p = this.get(id);
    if (p.state === 'quarantined') return this.view(p);
    return this.view(await this.save({ ...p, state: 'quarantined', stateReason: reason, stateSince: this.deps.clock.now() }));
  }

  /** Releases a quarantined proxy once a probe shows it answers; 409 when it does not. */
  async release(id: string): Promise<ProxyView> {
    const p = this.get(id);
    if (p.state === 'active') return this.view(p);
    const dialled = await checkProxyUrl(p.url, this.deps.guard, PROXY_SCHEMES).catch((err: Error) => {
      throw errors.conflict('proxy probe failed', err.message);
    });
    const problem = await (this.deps.probe ?? probeProxy)(dialled);
    if (problem) throw errors.conflict('proxy probe failed', `${p.label}: ${problem}; it stays quarantined`);
    return this.view(await this.save({ ...p, state: 'active', stateReason: null, stateSince: this.deps.clock.now() }));
  }

  /**
   * The proxy URL a channel's next connection dials: its own setting, or for `auto` its pool
   * proxy (picking the healthiest active one when it has none). '' when there is none to use.
   */
  proxyFor(channelId: string, setting: string): { url: string; pooled: boolean } {
    if (setting !== 'auto') {
      this.unassign(channelId);
      return { url: setting, pooled: false };
    }
    let proxy = this.proxies.get(this.assigned.get(channelId) ?? '');
    if (!proxy) {
      proxy = this.pick(channelId, null, null);
      if (proxy) this.assign(channelId, proxy.id);
    }
    return { url: proxy?.url ?? '', pooled: !!proxy };
  }

  /** A connect error through the channel's pool proxy (the admin sees it on GET /partner/proxies). */
  noteError(channelId: string, detail: string): void {
    const id = this.assigned.get(channelId);
    if (id) this.health.noteError(id, detail);
  }

  /** A committed lifecycle step of a channel: feeds its pool proxy's health. */
  observe(channelId: string, effects: Effect[]): void {
    const id = this.assigned.get(channelId);
    if (id) this.health.observe(id, channelId, effects, this.deps.clock.now());
  }

  context(channelId: string, setting: string): ProxyContext {
    const auto = setting === 'auto';
    const p = auto ? this.proxies.get(this.assigned.get(channelId) ?? '') : undefined;
    if (!p) return { auto, current: null, next: auto ? this.brief(this.pick(channelId, null, null)) : null };
    const now = this.deps.clock.now();
    const health = this.health.report(p.id, now);
    return {
      auto,
      current: {
        id: p.id,
        label: p.label,
        unhealthy: health.status === 'bad',
        othersFlapping: this.health.othersFlapping(p.id, channelId, now, this.deps.flap.windowMs),
      },
      next: this.brief(this.pick(channelId, p.id, p.region)),
    };
  }

  async move(channelId: string, to: string): Promise<void> {
    this.get(to);
    this.assign(channelId, to);
  }

  /** The healthiest active proxy other than `except` (same region when one is given); ties go to the emptiest. */
  private pick(channelId: string, except: string | null, region: string | null): ProxyRecord | undefined {
    const now = this.deps.clock.now();
    // Channels on each proxy, counted in one pass (not one pass per candidate).
    const load = new Map<string, number>();
    for (const [c, p] of this.assigned) if (c !== channelId) load.set(p, (load.get(p) ?? 0) + 1);
    return [...this.proxies.values()]
      .filter((p) => p.state === 'active' && p.id !== except && (region === null || p.region === region))
      .map((p) => ({ p, rank: healthRank(this.health.report(p.id, now)), load: load.get(p.id) ?? 0 }))
      .filter((c) => c.rank < 3)
      .sort((a, b) => a.rank - b.rank || a.load - b.load || a.p.createdAt - b.p.createdAt)[0]?.p;
  }

  private brief(p: ProxyRecord | undefined): ProxyContext['next'] {
    return p ? { id: p.id, label: p.label } : null;
  }

  private assign(channelId: string, proxyId: string): void {
    this.assigned.set(channelId, proxyId);
    this.deps.store.assignProxy(channelId, proxyId).catch((err: unknown) => this.deps.onError?.(err));
  }

  private unassign(channelId: string): void {
    if (!this.assigned.delete(channelId)) return;
    this.deps.store.assignProxy(channelId, null).catch((err: unknown) => this.deps.onError?.(err));
  }

  private async save(p: ProxyRecord): Promise<ProxyRecord> {
    await this.deps.store.saveProxy(p);
    this.proxies.set(p.id, p);
    return p;
  }

  private get(id: string): ProxyRecord {
    const p = this.proxies.get(id);
    if (!p) throw errors.notFound(`proxy ${id} does not exist`);
    return p;
  }

  private view(p: ProxyRecord): ProxyView {
    return {
      id: p.id,
      url: redactedProxyUrl(p.url),
      label: p.label,
      region: p.region,
      state: p.state,
      state_reason: p.stateReason,
      state_since: p.stateSince,
      created_at: p.createdAt,
      channels: [...this.assigned].filter(([, id]) => id === p.id).map(([c]) => c).sort(),
      health: this.health.report(p.id, this.deps.clock.now()),
    };
  }
}

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}
