import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type HookHandlerDoneFunction } from 'fastify';
import type { Clock } from '../channel/clock.js';
import type { ChannelService } from '../channel/service.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import type { Store, EngineKind } from '../store/types.js';
import { Authenticator } from './auth.js';
import { AuthFailureLimiter } from './auth-limiter.js';
import { capConnections } from './connections.js';
import { redactUrl } from './redact.js';
import { requestLogger } from './request-logger.js';
import { StreamTickets } from './stream-tickets.js';
import type { HttpLimits } from '../config.js';
import { notImplementedTwins, registerErrorHandling } from './errors.js';
import type { WebhookService } from '../webhooks/service.js';
import { deliveryRoutes } from './gate/deliveries.js';
import { healthRoutes } from './gate/health.js';
import { messageRoutes } from './gate/messages.js';
import type { MessageService } from '../messages/service.js';
import type { MediaService } from '../media/service.js';
import { mediaRoutes } from './gate/media.js';
import { mediaMessageRoutes } from './gate/media-messages.js';
import { messageActionRoutes } from './gate/message-actions.js';
import type { Metrics } from '../metrics/registry.js';
import { metricsRoutes } from './ops/metrics.js';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { EventEmitter } from 'node:events';
import { channelStreamRoutes, partnerStreamRoutes, streamTicketRoutes } from './streams.js';
import swaggerUi from '@fastify/swagger-ui';
import { settingsRoutes } from './gate/settings.js';
import { sandboxRoutes } from './gate/sandbox.js';
import { userRoutes } from './gate/users.js';
import { probeRoutes } from './ops/probes.js';
import { partnerChannelRoutes } from './partner/channels.js';
import { partnerChannelToolRoutes } from './partner/channel-tools.js';
import { partnerProxyRoutes } from './partner/proxies.js';
import { partnerNodeRoutes } from './partner/nodes.js';
import type { ProxyPool } from '../proxies/pool.js';
import { dashboardRoutes } from '../dashboard/index.js';
import { validatorCompiler } from './validation.js';
import { ApiError, ERROR_MESSAGES } from '@wagate/protocol';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';

/** Requests too broken for Fastify to route (bad method, oversized headers), or too slow to arrive, still answer in Whapi's shape. */
function rawClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ApiError(408, ERROR_MESSAGES.requestTimeout, 'the request did not arrive in time (WAGATE_HEADERS_TIMEOUT_MS, WAGATE_REQUEST_TIMEOUT_MS)')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError(431, 'request header fields too large', `malformed HTTP request (${err.code})`)
        : new ApiError(400, ERROR_MESSAGES.badRequest, `malformed HTTP request (${err.code ?? 'client error'})`);
  const body = JSON.stringify(error.toBody());
  // Only where the response in flight (Node keeps it on the socket) has not started: a timeout can
  // strike after it has, and writing then would corrupt what the client reads.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  } else {
    socket.end();
  }
  // Ended gracefully, so the client reads the answer; one that goes on sending is dropped soon after.
  setTimeout(() => socket.destroy(), CLIENT_ERROR_GRACE_MS).unref();
}

/** How long a connection that answered a broken or late request may stay half-open. */
const CLIENT_ERROR_GRACE_MS = 2000;

/** What routes reach through `app.wagate`. */
export interface GatewayContext {
  store: Store;
  channels: ChannelService;
  webhooks: WebhookService;
  messages: MessageService;
  media: MediaService;
  metrics: Metrics;
  /** The partner's proxy pool (SPEC §11). */
  proxies: ProxyPool;
  /**
   * Emits 'committed' (channel id) after every commit that wrote events, and 'revoked' (channel
   * id) when a channel's token is rotated or the channel deleted: streams opened with it end.
   */
  commits: EventEmitter;
  /** This process as a node of several (PostgreSQL), or null alone on SQLite. */
  node: NodeContext | null;
  /** WAGATE_METRICS_TOKEN's hash, if set. */
  metricsTokenHash: string | null;
  clock: Clock;
  version: string;
  defaultEngine: EngineKind;
  /** WAGATE_MEDIA_MAX_BYTES: the largest file a request may carry. */
  mediaMaxBytes: number;
  /** The base URL clients use for the gate API. */
  apiUrl(): string;
  /** The admin token's hash (it may be generated after the server is built). */
  adminTokenHash(): string;
  isReady(): boolean;
}

/** What routes know of this node (SPEC §10). */
export interface NodeContext {
  id: string;
  startedAt: number;
  /** The lease TTL: a node whose heartbeat is older is not live. */
  ttlMs: number;
  /** Whether this node runs the channel's engine now. */
  runsHere(channelId: string): boolean;
  /** The channel of a token this node does not know, if another node created it. */
  discover(tokenHash: string): Promise<ChannelRuntime | undefined>;
  /** Registers what routes requests to other nodes (forwarding, fresh reads). */
  register(app: FastifyInstance): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    wagate: GatewayContext;
  }
}

export interface ServerOptions {
  bodyLimitBytes: number;
  logLevel: string;
  limits: HttpLimits;
}

/** A request without a body carries `{}`, so a body schema validates it as an empty object. */
function emptyBodyAsObject(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (req.body === undefined) req.body = {};
  done();
}

/** How often an idle event stream proves it is alive: well inside any proxy's and the idle timeout's patience. */
const STREAM_HEARTBEAT_MS = 15_000;

/** Builds the HTTP server: gate routes (channel token), partner routes (admin token), probes. */
export async function buildServer(ctx: GatewayContext, opts: ServerOptions): Promise<FastifyInstance> {
  const { limits } = opts;
  const app = Fastify({
    bodyLimit: opts.bodyLimitBytes,
    logger: {
      level: opts.logLevel,
      // Tokens travel in headers and query strings: keep both out of the logs.
      redact: ['req.headers.authorization', 'req.query.token', 'req.query.ticket'],
      serializers: { req: (req) => ({ method: req.method, url: redactUrl(String(req.url)) }) },
    },
    // A client that trickles its request, or holds a connection silent, is cut off (408 / close).
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: Math.min(72_000, limits.connectionTimeoutMs),
    // Node checks the deadlines every connectionsCheckingInterval: often enough for the shortest one to hold.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(5000, Math.floor(limits.headersTimeoutMs / 4))) },
    // One line per request is noise at info level; debug and trace keep them.
    logController: new LogController({ disableRequestLogging: opts.logLevel !== 'debug' && opts.logLevel !== 'trace' }),
    childLoggerFactory: requestLogger,
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: (error, _req, reply) => {
      const body = new ApiError(400, ERROR_MESSAGES.badRequest, `malformed URL: ${error.message}`).toBody();
      void (reply as unknown as FastifyReply).status(400).type('application/json').send(body);
    },
    clientErrorHandler: rawClientError,
  });
  capConnections(app.server, { total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress });
  const tickets = new StreamTickets(() => ctx.clock.now(), ctx.store.tickets);
  const auth = new Authenticator({
    channels: ctx.channels,
    adminTokenHash: () => ctx.adminTokenHash(),
    metricsTokenHash: ctx.metricsTokenHash,
    limiter: new AuthFailureLimiter({ limit: limits.authFailureLimit, windowMs: limits.authFailureWindowMs, now: () => ctx.clock.now() }),
    tickets,
    discover: ctx.node ? (hash) => ctx.node!.discover(hash) : undefined,
  });
  const streams = { stallTimeoutMs: limits.streamStallTimeoutMs, heartbeatMs: STREAM_HEARTBEAT_MS };
  app.setValidatorCompiler(validatorCompiler);
  app.decorate('wagate', ctx);
  app.decorateRequest('channel', null as never);
  registerErrorHandling(app);
  ctx.node?.register(app);
  // A POST without a body validates as an empty object: `{}` and nothing are the same request.
  // Only on routes whose method carries a body, ahead of their own hooks: GET and HEAD never have one.
  // Both hooks are callback-style: on every request, an async hook costs a promise and a tick.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((m) => m === 'GET' || m === 'HEAD')) return;
    route.preValidation = [emptyBodyAsObject, ...[route.preValidation ?? []].flat()];
  });

  app.addHook('onResponse', (req, reply, done) => {
    ctx.metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'wagate', description: "Whapi.Cloud-compatible gate API, wagate's partner API and operations", version: ctx.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(probeRoutes);
  await app.register(async (ops) => {
    ops.addHook('onRequest', auth.metrics);
    await ops.register(metricsRoutes);
  });
  await app.register(async (gate) => {
    gate.addHook('onRequest', auth.channel);
    // Outside multipart's scope: /health carries no form, and multipart's async onResponse hook
    // (it cleans files saved to disk, which wagate never does) would cost it a promise and a tick.
    await gate.register(healthRoutes);
    await gate.register(async (forms) => {
      // Whapi declares multipart/form-data beside JSON for its sends; routes read it with formBody.
      await forms.register(multipart, { limits: { fileSize: ctx.mediaMaxBytes } });
      await forms.register(userRoutes);
      await forms.register(sandboxRoutes);
      await forms.register(settingsRoutes);
      await forms.register(deliveryRoutes);
      await forms.register(messageRoutes);
      await forms.register(mediaRoutes);
      await forms.register(mediaMessageRoutes);
      await forms.register(messageActionRoutes);
      await forms.register(channelStreamRoutes, streams);
    });
  });
  await notImplementedTwins(app);
  await app.register(async (partner) => {
    partner.addHook('onRequest', auth.admin);
    await partner.register(partnerChannelRoutes);
    await partner.register(streamTicketRoutes, { tickets });
    await partner.register(partnerChannelToolRoutes);
    await partner.register(partnerProxyRoutes);
    await partner.register(partnerNodeRoutes);
  });
  await app.register(async (stream) => {
    stream.addHook('onRequest', auth.stream);
    await stream.register(partnerStreamRoutes, streams);
  });
  await app.register(dashboardRoutes);
  return app;
}
