import type { EventEmitter } from 'node:events';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types.js';

/** How often an idle stream sends a comment, so proxies keep it open. */
const HEARTBEAT_MS = 15_000;
const BATCH = 200;

export const StreamQuery = Type.Object({
  last_event_id: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'resume after this event (same as the Last-Event-ID header)' })),
  token: Type.Optional(Type.String()),
});

/**
 * Streams stored events as Server-Sent Events: `id` is the event's seq, `event` its
 * `type.method`, `data` the same envelope the webhooks carry. A client that reconnects with
 * Last-Event-ID gets everything after it; a new client starts with the next event.
 */
export async function streamEvents(req: FastifyRequest, reply: FastifyReply, store: Store, commits: EventEmitter, channelId: string | null): Promise<void> {
  const header = req.headers['last-event-id'];
  const query = (req.query as { last_event_id?: number }).last_event_id;
  const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
  let lastSeq = fromHeader ?? query ?? (await store.lastEventSeq());

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': wagate event stream\n\n');

  let closed = false;
  let pumping = false;
  let again = false;
  const pump = async (): Promise<void> => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        for (;;) {
          const events = await store.listEvents(channelId, lastSeq, BATCH);
          for (const e of events) {
            if (closed) return;
            res.write(`id: ${e.seq}\nevent: ${e.name}\ndata: ${JSON.stringify(e.body)}\n\n`);
            lastSeq = e.seq;
          }
          if (events.length < BATCH) break;
        }
      } while (again && !closed);
    } catch (err) {
      req.log.error({ err }, 'event stream failed');
      res.end();
    } finally {
      pumping = false;
    }
  };
  const onCommit = (id: string): void => {
    if (channelId === null || id === channelId) void pump();
  };
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  commits.on('committed', onCommit);
  req.raw.on('close', () => {
    closed = true;
    clearInterval(heartbeat);
    commits.off('committed', onCommit);
  });
  await pump();
}

/** `GET /events` (channel token): this channel's events. */
export async function channelStreamRoutes(app: FastifyInstance): Promise<void> {
  app.get('/events', { schema: { tags: ['Events'], summary: "This channel's events as Server-Sent Events (extension)", querystring: StreamQuery } }, (req, reply) =>
    streamEvents(req, reply, app.wagate.store, app.wagate.commits, req.channel.id),
  );
}

/** `GET /partner/events` (admin token): every channel's events. */
export async function partnerStreamRoutes(app: FastifyInstance): Promise<void> {
  app.get('/partner/events', { schema: { tags: ['Partner'], summary: "Every channel's events as Server-Sent Events", querystring: StreamQuery } }, (req, reply) =>
    streamEvents(req, reply, app.wagate.store, app.wagate.commits, null),
  );
}
