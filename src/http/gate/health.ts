import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isIdle } from '../../channel/lifecycle.js';
import type { ChannelRuntime } from '../../channel/runtime.js';
import { ErrorBody, Health, HistoryPage } from '@wagate/protocol';

export const WakeupQuery = Type.Object({
  wakeup: Type.Optional(Type.Boolean({ default: true, description: 'start a parked or never-started channel' })),
  token: Type.Optional(Type.String()),
});

/**
 * A request with `wakeup=true` starts a channel that is parked or was never started (not STOP).
 * Undefined when there is nothing to wake, so a route that need not wait answers at once.
 */
export function wakeUp(channel: ChannelRuntime, wakeup: boolean): Promise<void> | undefined {
  const s = channel.state;
  return wakeup && isIdle(s) && (s.status === 'NOT_INIT' || s.parked) ? channel.send({ type: 'wakeup' }) : undefined;
}

/** `GET /health` and `GET /health/history`. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        tags: ['Channel'],
        summary: 'Check health & launch channel',
        querystring: WakeupQuery,
        response: { 200: Health, 401: ErrorBody },
      },
    },
    // Not async: a channel running already (the usual case) is answered without a promise and a tick.
    (req) => {
      const { wakeup } = req.query as { wakeup: boolean };
      const waking = wakeUp(req.channel, wakeup);
      return waking ? waking.then(() => req.channel.health()) : req.channel.health();
    },
  );

  app.get(
    '/health/history',
    {
      schema: {
        tags: ['Channel'],
        summary: 'Status history, newest first (extension)',
        querystring: Type.Object({
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
          token: Type.Optional(Type.String()),
        }),
        response: { 200: HistoryPage, 401: ErrorBody },
      },
    },
    async (req) => {
      const { count, offset } = req.query as { count: number; offset: number };
      const { history, total } = await app.wagate.store.listHistory(req.channel.id, { count, offset });
      return { history, total, count: history.length, offset };
    },
  );
}
