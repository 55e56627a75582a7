import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody, StreamTicket } from '@wagate/protocol';
import { streamEvents, type EventStreamOptions } from './event-stream.js';
import type { StreamTickets } from './stream-tickets.js';

const lastEventId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'resume after this event (same as the Last-Event-ID header)' });

export const ChannelStreamQuery = Type.Object({ last_event_id: Type.Optional(lastEventId), token: Type.Optional(Type.String()) });
export const PartnerStreamQuery = Type.Object({
  last_event_id: Type.Optional(lastEventId),
  ticket: Type.Optional(Type.String({ description: 'a ticket from POST /partner/events/ticket, for clients that cannot send a header' })),
});

/** What both streams share: the store, the commit signals and the stream limits. */
export interface StreamRouteOptions {
  stallTimeoutMs: number;
  heartbeatMs: number;
}

type Shared = Pick<EventStreamOptions, 'store' | 'signals' | 'stallTimeoutMs' | 'heartbeatMs'>;

function shared(app: FastifyInstance, opts: StreamRouteOptions): Shared {
  return { store: app.wagate.store, signals: app.wagate.commits, ...opts };
}

/** `GET /events` (channel token): this channel's events, until its token is rotated or it is deleted. */
export async function channelStreamRoutes(app: FastifyInstance, opts: StreamRouteOptions): Promise<void> {
  app.get('/events', { schema: { tags: ['Events'], summary: "This channel's events as Server-Sent Events (extension)", querystring: ChannelStreamQuery } }, (req, reply) => {
    const channel = req.channel;
    const tokenHash = channel.record.tokenHash;
    return streamEvents(req, reply, {
      ...shared(app, opts),
      channelId: channel.id,
      revokedWith: channel.id,
      stillValid: () => app.wagate.channels.find(channel.id)?.record.tokenHash === tokenHash,
    });
  });
}

/** `GET /partner/events` (admin token or a ticket): every channel's events. */
export async function partnerStreamRoutes(app: FastifyInstance, opts: StreamRouteOptions): Promise<void> {
  app.get('/partner/events', { schema: { tags: ['Partner'], summary: "Every channel's events as Server-Sent Events", querystring: PartnerStreamQuery } }, (req, reply) =>
    streamEvents(req, reply, { ...shared(app, opts), channelId: null, revokedWith: null, stillValid: () => true }),
  );
}

/** `POST /partner/events/ticket` (admin token in the header): a single-use ticket for the partner stream. */
export async function streamTicketRoutes(app: FastifyInstance, opts: { tickets: StreamTickets }): Promise<void> {
  app.post(
    '/partner/events/ticket',
    {
      schema: {
        tags: ['Partner'],
        summary: 'A single-use ticket that opens /partner/events?ticket= within 30 s (for EventSource, which cannot send a header)',
        response: { 200: StreamTicket, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async () => {
      const { ticket, expiresInSeconds } = await opts.tickets.issue();
      return { ticket, expires_in: expiresInSeconds };
    },
  );
}
