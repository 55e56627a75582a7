import type { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredEvent, Store } from '../store/types.js';

/** Events read from the store at a time: a long backlog is paged, never loaded whole. */
const PAGE = 200;

export interface EventStreamOptions {
  store: Store;
  /** Emits 'committed' (channel id) after a commit with events, 'revoked' (channel id) when a token dies. */
  signals: EventEmitter;
  /** One channel's events, or every channel's (null). */
  channelId: string | null;
  /** Ends the stream when this channel's token is rotated or the channel deleted. */
  revokedWith: string | null;
  /** Whether the credential the stream was opened with still holds (checked once it is set up). */
  stillValid: () => boolean;
  /** A client that reads nothing of what waits for it this long is cut off. */
  stallTimeoutMs: number;
  /** An idle stream sends a comment this often, so proxies and the idle timeout keep it open. */
  heartbeatMs: number;
}

/**
 * Streams stored events as Server-Sent Events: `id` is the event's seq, `event` its
 * `type.method`, `data` the same envelope the webhooks carry. A client that reconnects with
 * Last-Event-ID gets everything after it; a new client starts with the next event.
 *
 * The stream writes only as fast as its client reads: it waits for the socket to drain before
 * the next event, so a slow client costs one page of events, not the backlog. A client that
 * reads nothing for `stallTimeoutMs` is cut off and resumes from its Last-Event-ID.
 */
export async function streamEvents(req: FastifyRequest, reply: FastifyReply, opts: EventStreamOptions): Promise<void> {
  const header = req.headers['last-event-id'];
  const query = (req.query as { last_event_id?: number }).last_event_id;
  const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
  let lastSeq = fromHeader ?? query ?? (await opts.store.lastEventSeq());
  const { channelId, signals } = opts;

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': wagate event stream\n\n');

  let closed = false;
  let pumping = false;
  let again = false;

  /** Stops writing and lets go of every listener; the connection itself is the caller's to end. */
  const stop = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    signals.off('committed', onCommit);
    signals.off('revoked', onRevoked);
  };
  const end = (why: string): void => {
    if (closed) return;
    stop();
    res.end(`: ${why}\n\n`);
  };
  const cutOff = (): void => {
    if (closed) return;
    stop();
    req.log.info({ channelId, lastSeq, stallTimeoutMs: opts.stallTimeoutMs }, 'event stream cut off: the client stopped reading');
    // A reset frees the socket's buffers at once; the client resumes from its Last-Event-ID.
    if (res.socket) res.socket.resetAndDestroy();
    else res.destroy();
  };

  /** Resolves once the socket took what was written, or the stream closed or was cut off. */
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(stall);
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      const stall = setTimeout(() => {
        cutOff();
        done();
      }, opts.stallTimeoutMs);
      res.once('drain', done);
      res.once('close', done);
    });

  const send = async (e: StoredEvent): Promise<void> => {
    const more = res.write(`id: ${e.seq}\nevent: ${e.name}\ndata: ${JSON.stringify(e.body)}\n\n`);
    lastSeq = e.seq;
    if (!more) await drained();
  };

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
          if (closed) return;
          const events = await opts.store.listEvents(channelId, lastSeq, PAGE);
          for (const e of events) {
            if (closed) return;
            await send(e);
          }
          if (events.length < PAGE) break;
          // A client that reads as fast as the store pages would otherwise hold the event loop.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } while (again && !closed);
    } catch (err) {
      req.log.error({ err, channelId }, 'event stream failed');
      end('the event stream failed; reconnect with Last-Event-ID');
    } finally {
      pumping = false;
    }
  };

  const onCommit = (id: string): void => {
    if (channelId === null || id === channelId) void pump();
  };
  const onRevoked = (id: string): void => {
    if (id === opts.revokedWith) end('the token this stream was opened with no longer holds');
  };
  const heartbeat = setInterval(() => {
    // A stream waiting for its client to drain has data queued already; a comment would only add to it.
    if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
  }, opts.heartbeatMs);
  heartbeat.unref();
  signals.on('committed', onCommit);
  signals.on('revoked', onRevoked);
  res.on('close', stop);
  // The credential may have died while the stream was being set up.
  if (!opts.stillValid()) return end('the token this stream was opened with no longer holds');
  await pump();
}
