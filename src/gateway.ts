import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from './channel/clock.js';
import { ChannelService } from './channel/service.js';
import { hashToken, newToken } from './channel/tokens.js';
import type { Config } from './config.js';
import type { EngineFactory } from './engines/engine.js';
import { defaultEngines } from './engines/registry.js';
import { buildServer } from './http/server.js';
import { MediaFetcher } from './media/fetch.js';
import { prepareInbound } from './media/inbound.js';
import { MediaService } from './media/service.js';
import { openStore } from './store/index.js';
import { Retention } from './store/retention.js';
import { acquireDataDirLock } from './store/sqlite/data-dir-lock.js';
import type { EngineKind, Store } from './store/types.js';
import { VERSION } from './version.js';
import { WebhookService } from './webhooks/service.js';
import type { Endpoint, LookupAll, OutboundGuard } from './webhooks/guard.js';
import { MessageService } from './messages/service.js';
import { Metrics } from './metrics/registry.js';
import { RemediationService } from './remediation/service.js';
import { ProxyPool } from './proxies/pool.js';
import { CHANNEL_PROXY_SCHEMES, checkProxyUrl } from './proxies/address.js';
import { PROXY_SCHEMES } from '@wagate/protocol';
import type { Effect } from './channel/lifecycle.js';
import { ClusterNode } from './cluster/node.js';
import { resolveNodeId } from './cluster/node-id.js';
import { Peers } from './peers/index.js';

const ADMIN_HASH_KEY = 'admin_token_hash';

export interface Gateway {
  app: FastifyInstance;
  store: Store;
  channels: ChannelService;
  webhooks: WebhookService;
  /** The address the server listens on. */
  url: string;
  /** Set when this start generated the admin token: shown once, stored only as a hash. */
  generatedAdminToken: string | null;
  close(): Promise<void>;
}

export interface GatewayOptions {
  clock?: Clock;
  random?: () => number;
  engines?: Partial<Record<EngineKind, EngineFactory>>;
  /** Postgres schema to use (tests). */
  pgSchema?: string;
  /** Name resolution for outbound addresses (tests point names anywhere without DNS). */
  lookup?: LookupAll;
  /** Told as each boot phase ends (`npm run bench:boot` times them). */
  onPhase?: (phase: BootPhase) => void;
}

/** The phases of a boot, in order. */
export type BootPhase = 'store_opened' | 'channels_loaded' | 'listening' | 'channels_resumed' | 'ready';

/** Opens the store, resumes every channel that was running, and starts listening. */
export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? systemClock;
  // First of all: a second process on the same SQLite directory must stop before writing anything.
  // On PostgreSQL the directory holds the node's id when WAGATE_NODE_ID is unset: locked too, so
  // two processes can never be one node.
  const dirLock = !config.databaseUrl || !config.cluster.nodeId ? acquireDataDirLock(config.dataDir) : null;
  let store: Store;
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl ?? undefined,
      dataDir: config.dataDir,
      pgSchema: opts.pgSchema,
      sqliteSynchronous: config.sqliteSynchronous,
      // A node cut off mid-transaction must not hold a channel's rows past its self-fence.
      pgIdleInTransactionTimeoutMs: config.cluster.renewMs,
      pgClusterQueryTimeoutMs: Math.min(3000, config.cluster.renewMs),
    });
  } catch (err) {
    dirLock?.release();
    throw err;
  }
  // PostgreSQL: this process is a node; a channel's engine runs only under its lease here.
  const nodeId = store.cluster ? resolveNodeId(config.cluster.nodeId, config.dataDir) : undefined;
  store.requireFences?.();
  let node: ClusterNode | null = null;
  const nodeStartedAt = clock.now();
  opts.onPhase?.('store_opened');
  const storedAdminHash = await store.getMeta(ADMIN_HASH_KEY);
  let adminHash = config.adminToken ? hashToken(config.adminToken) : (storedAdminHash ?? '');
  let ready = false;
  let url = '';
  // Known once the server listens; until then nothing of ours answers, so nothing to refuse.
  let listening: Endpoint[] = [];
  // One guard for every address dialled on a customer's behalf (webhooks, media URLs; proxies later).
  const guard: OutboundGuard = { allowPrivate: config.webhookPrivate === 'allow', ownEndpoints: () => listening, lookup: opts.lookup };

  let webhooks: WebhookService | null = null;
  const commits = new EventEmitter().setMaxListeners(0);
  // The channel service needs metrics' hooks and metrics needs the channels: a getter breaks the knot.
  const metrics = new Metrics({
    channels: () => channels,
    store,
    proxies: () => proxies.list(),
    node: nodeId === undefined ? undefined : { id: nodeId, runsHere: (id) => channels.runsHere(id) },
  });
  // A pool proxy is set by the admin: private hosts are allowed, the always-refused ranges are not.
  const proxies = new ProxyPool({ store, clock, flap: config.lifecycle.flap, guard: { ...guard, allowPrivate: true }, onError: (err) => app.log.error({ err }, 'proxy pool write failed') });
  await proxies.load();
  const media = new MediaService({
    store,
    clock,
    fetcher: new MediaFetcher({ guard, maxBytes: config.mediaMaxBytes, timeoutMs: config.mediaFetchTimeoutMs }),
    maxBytes: config.mediaMaxBytes,
    retentionDays: config.mediaRetentionDays,
    apiUrl: () => config.publicUrl ?? url,
  });
  // Inbound files from WhatsApp's media hosts: the same guard, room for the encryption's padding and MAC.
  const whatsappMedia = new MediaFetcher({ guard, maxBytes: config.mediaMaxBytes + 32, timeoutMs: config.mediaFetchTimeoutMs, ca: config.baileysMediaCa ?? undefined });
  const messages = new MessageService({
    store,
    clock,
    onHold: (outcome, waitedMs) => metrics.hold(outcome, waitedMs),
    afterEngineSend: killAfterSend(config.faultKillAfterSend),
  });
  const inbound = new WeakMap<object, Promise<void>>();
  const channels = new ChannelService({
    store,
    clock,
    engines:
      opts.engines ??
      defaultEngines({
        baileys: {
          wsUrl: config.baileysWsUrl ?? undefined,
          mediaCa: config.baileysMediaCa ?? undefined,
          download: async (fileUrl) => (await whatsappMedia.fetch(fileUrl)).bytes,
        },
      }),
    lifecycle: config.lifecycle,
    random: opts.random ?? Math.random,
    version: VERSION,
    defaultEngine: config.defaultEngine,
    onCommitted: (channelId) => {
      webhooks?.dispatcher.committed();
      commits.emit('committed', channelId);
      peers?.committed(channelId);
    },
    proxies,
    checkProxy: (proxyUrl, pooled) =>
      pooled ? checkProxyUrl(proxyUrl, { ...guard, allowPrivate: true }, PROXY_SCHEMES) : checkProxyUrl(proxyUrl, guard, CHANNEL_PROXY_SCHEMES),
    onProxyError: (channelId, detail) => {
      proxies.noteError(channelId, detail);
      app.log.warn({ channelId, detail }, 'connection through the proxy failed');
    },
    onStep: (channelId, effects) => {
      metrics.step(effects);
      proxies.observe(channelId, effects);
      logTransitions(app, channelId, effects);
      remediation.step(channelId, effects);
      peers?.step(channelId, effects);
    },
    // A channel's messages and receipts are recorded in the order the engine reported them, even
    // when a file has to be downloaded first: a photo and the text after it stay in that order.
    onData: (runtime, data) => {
      const handled = (inbound.get(runtime) ?? Promise.resolve())
        .then(() => prepareInbound(media, runtime.id, data))
        .then((prepared) => messages.onData(runtime, prepared))
        .catch((err: unknown) => app.log.error({ channelId: runtime.id, err }, 'message handling failed'));
      inbound.set(runtime, handled);
      return handled;
    },
    onError: (channelId, err) => app.log.error({ channelId, err }, 'channel step failed'),
    onStoreFault: (channelId, err) => {
      metrics.storeFault();
      app.log.warn({ channelId, err }, 'store refused a commit; retrying');
    },
    onRevoked: (channelId) => {
      commits.emit('revoked', channelId);
      peers?.revoked(channelId);
    },
    nodeId,
    // The other nodes learn of a new channel from its announcement (src/peers/mirror.ts).
    placeNew: async (channelId) => {
      try {
        await node?.placeNew(channelId);
      } finally {
        peers?.committed(channelId);
      }
    },
    onLeaseLost: (channelId) => node?.noteRefused(channelId),
  });
  // Any node answers any request: forwarding to the channel's node, and this node's view of the others'.
  const peers =
    store.cluster && nodeId !== undefined && config.databaseUrl
      ? new Peers({
          nodeId,
          secret: config.nodeSecret,
          store,
          cluster: store.cluster,
          connectionString: config.databaseUrl,
          schema: opts.pgSchema,
          target: { track: (r) => void channels.track(r), untrack: (id) => channels.untrack(id), known: () => [...channels.all()].map((r) => r.id), runsHere: (id) => channels.runsHere(id), record: (id) => channels.find(id)?.record },
          signals: commits,
          clock,
          expectMove: (id, until) => messages.expectMove(id, until),
          onForward: (outcome, waitedMs) => metrics.node?.forward(outcome, waitedMs),
          answerTimeoutMs: config.http.connectionTimeoutMs,
          bodyLimitBytes: Math.max(config.bodyLimitBytes, config.mediaMaxBytes + 1_048_576),
          onError: (err, what) => app.log.warn({ err }, what),
          applySignal: async (id, signal) => webhooks?.applySignal(id, signal),
        })
      : null;
  if (store.cluster && nodeId !== undefined) {
    node = new ClusterNode({ cluster: store.cluster, channels, config: config.cluster, nodeId, log: { info: (f, m) => app.log.info(f, m), warn: (f, m) => app.log.warn(f, m), error: (f, m) => app.log.error(f, m) } });
  }
  const remediation = new RemediationService({
    clock,
    defaults: config.remediation,
    find: (id) => channels.find(id),
    proxies,
    log: (fields, message) => app.log.info(fields, message),
    onError: (channelId, err) => app.log.error({ channelId, err }, 'remediation failed'),
    onAction: (action, outcome) => metrics.remediation(action, outcome),
  });
  webhooks = new WebhookService({
    store,
    clock,
    channels,
    guard,
    timeoutMs: config.webhookTimeoutMs,
    // Several gateways may share a PostgreSQL outbox: each sends only the queues it claims.
    claims: nodeId === undefined ? undefined : { node: nodeId, ttlMs: Math.max(30_000, 2 * config.webhookTimeoutMs) },
    retentionDays: config.retention.deliveriesDays,
    observe: (delivery, _result, outcome) => metrics.delivery(delivery, outcome, clock.now()),
    onError: (err) => app.log.error({ err }, 'webhook dispatcher failed'),
    relay: peers ? (id, signal) => peers.relay(id, signal) : undefined,
  });


  const app = await buildServer(
    {
      store,
      media,
      channels,
      webhooks,
      messages,
      metrics,
      proxies,
      commits,
      node:
        peers && nodeId !== undefined
          ? {
              id: nodeId,
              startedAt: nodeStartedAt,
              ttlMs: config.cluster.ttlMs,
              runsHere: (id) => channels.runsHere(id),
              discover: (hash) => channels.discover(hash),
              register: (server) => peers.register(server),
            }
          : null,
      metricsTokenHash: config.metricsToken ? hashToken(config.metricsToken) : null,
      clock,
      version: VERSION,
      defaultEngine: config.defaultEngine,
      mediaMaxBytes: config.mediaMaxBytes,
      apiUrl: () => config.publicUrl ?? url,
      adminTokenHash: () => adminHash,
      isReady: () => ready,
    },
    { bodyLimitBytes: config.bodyLimitBytes, logLevel: config.logLevel, limits: config.http },
  );

  await channels.load();
  opts.onPhase?.('channels_loaded');
  // Listen before writing anything: a port clash must leave the store as it was.
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    dirLock?.release();
    throw err;
  }
  listening = app.addresses().filter((a) => typeof a !== 'string');
  opts.onPhase?.('listening');
  dirLock?.announce(url);
  // Generated only once the port is ours, so a failed start never stores a token nobody saw.
  const generated = adminHash ? null : newToken();
  if (generated) {
    adminHash = hashToken(generated);
    await store.setMeta(ADMIN_HASH_KEY, adminHash);
  }
  if (node) await node.start(config.cluster.nodeUrl ?? url, dirLock !== null);
  else await channels.resume();
  opts.onPhase?.('channels_resumed');
  await peers?.start();
  if (peers && config.nodeSecret === null) app.log.warn({ node: nodeId }, 'WAGATE_NODE_SECRET is not set: requests for channels run by another node answer 503');
  webhooks.dispatcher.start();
  // Idempotency-Keys answer for 24 hours; an hourly sweep keeps the table at a day's sends.
  // Media older than WAGATE_MEDIA_RETENTION_DAYS goes in the same sweep, in batches.
  const prune = (): void => {
    void messages.pruneIdempotency().catch((err: unknown) => app.log.error({ err }, 'idempotency prune failed'));
    void media.prune().catch((err: unknown) => app.log.error({ err }, 'media prune failed'));
  };
  prune();
  const pruneTimer = setInterval(prune, 60 * 60_000).unref();
  // Finished deliveries, events and status history past their windows (WAGATE_RETENTION_*).
  const retention = new Retention({ store, clock, windows: config.retention, onError: (err) => app.log.error({ err }, 'retention sweep failed') });
  retention.start();
  ready = true;
  opts.onPhase?.('ready');
  const adminToken = adminTokenSource(config.adminToken !== null, storedAdminHash, generated ? adminHash : null);
  app.log.info({ url, store: store.kind, node: nodeId, channels: channels.size, admin_token: adminToken }, 'wagate is listening');

  let closing: Promise<void> | null = null;
  return {
    app,
    store,
    channels,
    webhooks,
    url,
    generatedAdminToken: generated,
    close: () => {
      closing ??= (async () => {
        ready = false;
        clearInterval(pruneTimer);
        remediation.close();
        await retention.stop();
        await app.close();
        // A node hands its channels over as it stops; one process just stops them.
        await (node ? node.leave() : channels.shutdown());
        await webhooks.stop();
        await peers?.close();
        await media.close();
        await whatsappMedia.close();
        await store.close();
        dirLock?.release();
      })();
      return closing;
    },
  };
}

/** The crash-test hook of WAGATE_FAULT_KILL_AFTER_SEND: die between a send and its record. */
function killAfterSend(n: number | null): (() => void) | undefined {
  if (n === null) return undefined;
  let sends = 0;
  return () => {
    if (++sends === n) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * Which admin token is in effect, for the start-up log, without the token: the hash's first
 * 12 characters tell two generated tokens apart.
 */
function adminTokenSource(fromEnv: boolean, storedHash: string | null, generatedHash: string | null): string {
  if (fromEnv) return `WAGATE_ADMIN_TOKEN${storedHash ? ' (a stored generated token is ignored while it is set)' : ''}`;
  if (generatedHash) return `generated now (stored hash sha256:${generatedHash.slice(0, 12)}…)`;
  return `generated on an earlier start (stored hash sha256:${(storedHash ?? '').slice(0, 12)}…)`;
}

/** Every status change at info: channel, from, to, reason and detail (never a token or a body). */
function logTransitions(app: FastifyInstance, channelId: string, effects: Effect[]): void {
  for (const e of effects) {
    if (e.kind !== 'record' || e.entry.from === e.entry.to) continue;
    const { from, to, reason, detail } = e.entry;
    app.log.info({ channelId, from, to, reason, detail }, 'channel status changed');
  }
}
