import { DEFAULT_MAX_BODY_BYTES, receiveWebhook, type ReceiverOptions } from './receive.js';
import type { HeaderSource } from './verify.js';

/**
 * The slice of a Fastify instance the plugin uses, spelled here so this package needs no
 * Fastify types: a real `FastifyInstance` fits it.
 */
export interface FastifyLike {
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    contentType: string,
    opts: { parseAs: 'buffer'; bodyLimit?: number },
    parser: (request: unknown, body: Buffer, done: (err: Error | null, body?: unknown) => void) => void,
  ): void;
  route(opts: {
    method: string[];
    url: string;
    bodyLimit?: number;
    handler(request: { headers: HeaderSource; body: unknown }, reply: FastifyReplyLike): Promise<unknown>;
  }): unknown;
}

export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body: string): FastifyReplyLike;
}

export interface FastifyWebhookOptions extends ReceiverOptions {
  /** The route's path (default `/`; register with a `prefix` to mount it elsewhere). */
  path?: string;
  /** HTTP methods accepted (default POST, PUT, PATCH, DELETE: wagate's `method` mode uses the event's verb). */
  methods?: string[];
}

/**
 * A Fastify plugin that receives webhooks on one route. It is encapsulated: inside it every
 * body is kept as raw bytes (a signature covers the exact bytes), outside it your JSON parsing
 * is untouched. `app.register(fastifyWebhook({ path: '/webhook', secret, onEvent }))`.
 */
export function fastifyWebhook(options: FastifyWebhookOptions): (instance: FastifyLike) => Promise<void> {
  const bodyLimit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (instance) => {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
    instance.route({
      method: options.methods ?? ['POST', 'PUT', 'PATCH', 'DELETE'],
      url: options.path ?? '/',
      bodyLimit,
      async handler(request, reply) {
        const raw = request.body instanceof Uint8Array ? request.body : Buffer.alloc(0);
        const out = await receiveWebhook(options, request.headers, raw);
        return reply.code(out.status).header('content-type', 'application/json').send(out.body);
      },
    });
  };
}
