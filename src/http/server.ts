import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Clock } from '../channel/clock.js';
import type { ChannelService } from '../channel/service.js';
import type { Store, EngineKind } from '../store/types.js';
import { adminAuth, channelAuth } from './auth.js';
import { registerErrorHandling } from './errors.js';
import type { WebhookService } from '../webhooks/service.js';
import { deliveryRoutes } from './gate/deliveries.js';
import { healthRoutes } from './gate/health.js';
import { messageRoutes } from './gate/messages.js';
import type { MessageService } from '../messages/service.js';
import type { Metrics } from '../metrics/registry.js';
import { metricsRoutes } from './ops/metrics.js';
import swagger from '@fastify/swagger';
import type { EventEmitter } from 'node:events';
import { channelStreamRoutes, partnerStreamRoutes } from './streams.js';
import swaggerUi from '@fastify/swagger-ui';
import { settingsRoutes } from './gate/settings.js';
import { sandboxRoutes } from './gate/sandbox.js';
import { userRoutes } from './gate/users.js';
import { probeRoutes } from './ops/probes.js';
import { partnerChannelRoutes } from './partner/channels.js';
import { partnerChannelToolRoutes } from './partner/channel-tools.js';
import { dashboardRoutes } from '../dashboard/index.js';
import { validatorCompiler } from './validation.js';
import { ApiError, ERROR_MESSAGES } from '../protocol/index.js';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';

/** Requests too broken for Fastify to route (bad method, oversized headers) still answer in Whapi's shape. */
function rawClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(new ApiError(status, status === 431 ? 'request header fields too large' : ERROR_MESSAGES.badRequest, `malformed HTTP request (${err.code ?? 'client error'})`).toBody());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
}

/** What routes reach through `app.wagate`. */
export interface GatewayContext {
  store: Store;
  channels: ChannelService;
  webhooks: WebhookService;
  messages: MessageService;
  metrics: Metrics;
  /** Emits 'committed' (channel id) after every commit that wrote events. */
  commits: EventEmitter;
  /** WAGATE_METRICS_TOKEN's hash, if set. */
  metricsTokenHash: string | null;
  clock: Clock;
  version: string;
  defaultEngine: EngineKind;
  /** The base URL clients use for the gate API. */
  apiUrl(): string;
  /** The admin token's hash (it may be generated after the server is built). */
  adminTokenHash(): string;
  isReady(): boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    wagate: GatewayContext;
  }
}

export interface ServerOptions {
  bodyLimitBytes: number;
  logLevel: string;
}

/** Builds the HTTP server: gate routes (channel token), partner routes (admin token), probes. */
export async function buildServer(ctx: GatewayContext, opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: opts.bodyLimitBytes,
    logger: {
      level: opts.logLevel,
      // Tokens travel in headers and query strings: keep both out of the logs.
      redact: ['req.headers.authorization', 'req.query.token'],
      serializers: { req: (req) => ({ method: req.method, url: String(req.url).replace(/token=[^&]+/g, 'token=[redacted]') }) },
    },
    // One line per request is noise at info level; debug and trace keep them.
    logController: new LogController({ disableRequestLogging: opts.logLevel !== 'debug' && opts.logLevel !== 'trace' }),
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: (error, _req, reply) => {
      const body = new ApiError(400, ERROR_MESSAGES.badRequest, `malformed URL: ${error.message}`).toBody();
      void (reply as unknown as FastifyReply).status(400).type('application/json').send(body);
    },
    clientErrorHandler: rawClientError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorate('wagate', ctx);
  app.decorateRequest('channel', null as never);
  registerErrorHandling(app);
  // A POST without a body validates as an empty object: `{}` and nothing are the same request.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined) req.body = {};
  });

  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode);
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
  await app.register(metricsRoutes);
  await app.register(async (gate) => {
    gate.addHook('onRequest', channelAuth(ctx.channels, () => ctx.adminTokenHash()));
    await gate.register(healthRoutes);
    await gate.register(userRoutes);
    await gate.register(sandboxRoutes);
    await gate.register(settingsRoutes);
    await gate.register(deliveryRoutes);
    await gate.register(messageRoutes);
    await gate.register(channelStreamRoutes);
  });
  await app.register(async (partner) => {
    partner.addHook('onRequest', adminAuth(() => ctx.adminTokenHash(), ctx.channels));
    await partner.register(partnerChannelRoutes);
    await partner.register(partnerStreamRoutes);
    await partner.register(partnerChannelToolRoutes);
  });
  await app.register(dashboardRoutes);
  return app;
}
