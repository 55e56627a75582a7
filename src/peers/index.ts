import type { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../channel/clock.js';
import { hashToken } from '../channel/tokens.js';
import type { ClusterStore } from '../store/cluster.js';
import type { ChannelRecord, Store } from '../store/types.js';
import { IDEMPOTENCY_WINDOW_MS } from '../messages/service.js';
import { PeerClient } from './client.js';
import type { Effect } from '../channel/lifecycle.js';
import { channelSettings } from '../webhooks/outbox.js';

/** The reason of the restart a node makes when it takes a channel over (src/channel/service.ts). */
const LEASE_ACQUIRED = 'lease_acquired';
import { ChannelMirror, type MirrorTarget } from './mirror.js';
import { registerPeerRouting } from './routing.js';
import { registerOwnerSignals, relaySignal, type OwnerSignal, type OwnerSignalDeps } from './signals.js';

export { NODE_SECRET_HEADER, FORWARDED_BY_HEADER, ANSWERED_BY_HEADER } from './client.js';

export interface PeersDeps {
  nodeId: string;
  secret: string | null;
  store: Store;
  cluster: ClusterStore;
  connectionString: string;
  schema?: string;
  target: MirrorTarget;
  signals: EventEmitter;
  clock: Clock;
  /** A forwarded send arrived after an ownership move (MessageService.expectMove). */
  expectMove(channelId: string, until: number): void;
  onForward?(outcome: 'answered' | 'expired', waitedMs: number): void;
  /** The longest a peer may take to answer (a held send, then its engine). */
  answerTimeoutMs: number;
  bodyLimitBytes: number;
  onError(err: unknown, what: string): void;
  /** Carries out a dispatcher's signal for a channel this node runs (WebhookService.applySignal). */
  applySignal(channelId: string, signal: OwnerSignal): Promise<void>;
}

/**
 * What lets any node answer any request (SPEC §10): forwarding to owners, and the mirror that
 * keeps this node's view of the other nodes' channels (and its event streams) up to date.
 */
export class Peers {
  private readonly client: PeerClient;
  private readonly mirror: ChannelMirror;
  private readonly signals: OwnerSignalDeps;

  constructor(private readonly deps: PeersDeps) {
    this.client = new PeerClient({ connectTimeoutMs: 1000, answerTimeoutMs: deps.answerTimeoutMs });
    this.mirror = new ChannelMirror({
      connectionString: deps.connectionString,
      schema: deps.schema,
      nodeId: deps.nodeId,
      target: deps.target,
      allChannels: () => deps.store.allChannels(),
      channel: (id) => deps.store.getChannel(id),
      signals: deps.signals,
      refreshMs: 250,
      fullSyncMs: 5000,
      onError: deps.onError,
    });
    this.signals = {
      nodeId: deps.nodeId,
      secret: deps.secret,
      client: this.client,
      owner: (id) => deps.cluster.channelOwner(id),
      runsHere: (id) => deps.target.runsHere(id),
      apply: (id, signal) => deps.applySignal(id, signal),
      patienceMs: 30_000,
      pollMs: 250,
    };
  }

  /** The routing hook, on the server before it starts. */
  register(app: FastifyInstance): void {
    const { deps } = this;
    registerPeerRouting(app, {
      nodeId: deps.nodeId,
      secret: deps.secret,
      secretHash: deps.secret === null ? null : hashToken(deps.secret),
      client: this.client,
      owner: (id) => deps.cluster.channelOwner(id),
      record: (id) => deps.store.getChannel(id),
      idempotency: (id, key) => deps.store.getIdempotency(id, key, deps.clock.now() - IDEMPOTENCY_WINDOW_MS),
      runsHere: (id) => deps.target.runsHere(id),
      refresh: (record: ChannelRecord) => deps.target.track(record),
      expectMove: deps.expectMove,
      onForward: deps.onForward,
      clock: deps.clock,
      pollMs: 100,
      bodyLimitBytes: deps.bodyLimitBytes,
    });
    registerOwnerSignals(app, this.signals);
  }

  /** Hands a dispatcher's signal (an alert, a webhook to disable) to the channel's owner; false when none took it. */
  relay(channelId: string, signal: OwnerSignal): Promise<boolean> {
    return relaySignal(this.signals, channelId, signal);
  }

  start(): Promise<void> {
    return this.mirror.start();
  }

  /**
   * A channel this node has just taken over starts a new run (INIT, reason `lease_acquired`):
   * sends wait for its AUTH within `send_hold_ms`, as they would for a reconnect (SPEC §10).
   */
  step(channelId: string, effects: Effect[]): void {
    for (const e of effects) {
      if (e.kind !== 'record' || e.entry.reason !== LEASE_ACQUIRED) continue;
      const record = this.deps.target.record(channelId);
      if (record) this.deps.expectMove(channelId, this.deps.clock.now() + channelSettings(record.settings).send_hold_ms);
    }
  }

  /** A commit of a channel this node runs: the other nodes' streams and views follow. */
  committed(channelId: string): void {
    this.mirror.publish('c', channelId);
  }

  /** A token that stopped working (rotated, or the channel deleted) here. */
  revoked(channelId: string): void {
    this.mirror.publish('r', channelId);
  }

  async close(): Promise<void> {
    await this.mirror.stop();
    await this.client.close();
  }
}
