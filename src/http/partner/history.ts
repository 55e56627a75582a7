import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DAY_MS, StatusTimeline, statusTimeline } from '../../dashboard/timeline.js';
import { HistoryEntry } from '@wagate/protocol';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

const SinceQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'unix ms, inclusive (default: 24 hours ago)' })),
});

/** A channel's status history and its 24-hour timeline, for the admin token (extension). */
export async function partnerHistoryRoutes(app: FastifyInstance): Promise<void> {
  const { channels, store, clock } = app.wagate;

  app.get(
    '/partner/channels/:id/history',
    {
      schema: {
        tags,
        summary: 'Status history since a time, oldest first',
        params: ChannelIdParams,
        querystring: SinceQuery,
        response: { 200: Type.Object({ history: Type.Array(HistoryEntry), since: Type.Integer() }), ...partnerErrors },
      },
    },
    async (req) => {
      const channel = channels.get((req.params as ChannelIdParams).id);
      const since = (req.query as { since?: number }).since ?? clock.now() - DAY_MS;
      return { history: await store.historySince(channel.id, since), since };
    },
  );

  app.get(
    '/partner/channels/:id/timeline',
    {
      schema: {
        tags,
        summary: 'Statuses of the last 24 hours (or since creation): segments, uptime, drops, flapping alerts',
        params: ChannelIdParams,
        response: { 200: StatusTimeline, ...partnerErrors },
      },
    },
    async (req) => {
      const channel = channels.get((req.params as ChannelIdParams).id);
      const now = clock.now();
      const since = Math.max(now - DAY_MS, channel.record.createdAt);
      const history = await store.historySince(channel.id, since);
      return statusTimeline({ history, since, now, current: channel.state.status });
    },
  );
}
