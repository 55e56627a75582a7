import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, ERROR_MESSAGES, ErrorBody } from '../../protocol/index.js';

/** `GET /livez` (the process answers) and `GET /readyz` (booted and the store answers). */
export async function probeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/livez', { schema: { tags: ['Operations'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['Operations'],
        response: { 200: Type.Object({ status: Type.Literal('ready'), store: Type.String(), channels: Type.Integer() }), 503: ErrorBody },
      },
    },
    async () => {
      const { store, channels, isReady } = app.wagate;
      if (!isReady()) throw new ApiError(503, ERROR_MESSAGES.unavailable, 'the gateway is still starting');
      try {
        await store.ping();
      } catch (err) {
        throw new ApiError(503, ERROR_MESSAGES.unavailable, `the ${store.kind} store does not answer: ${(err as Error).message}`);
      }
      return { status: 'ready' as const, store: store.kind, channels: channels.size };
    },
  );
}
