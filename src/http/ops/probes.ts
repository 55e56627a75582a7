import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, ERROR_MESSAGES, ErrorBody, errors } from '@wagate/protocol';

/** A readiness probe that takes longer than this to write counts as a failing store. */
const PROBE_WRITE_TIMEOUT_MS = 2000;

/**
 * `GET /livez` (the process answers) and `GET /readyz` (booted, the store takes a write, and no
 * channel is holding a change it could not commit).
 */
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
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          store.probeWrite(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_WRITE_TIMEOUT_MS} ms`)), PROBE_WRITE_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        throw errors.storeUnavailable(`the ${store.kind} store does not take writes: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
      const failing = channels.failingCommits();
      if (failing > 0) throw errors.storeUnavailable(`${failing} channel(s) hold changes that the ${store.kind} store has not taken yet; they are being retried`);
      return { status: 'ready' as const, store: store.kind, channels: channels.size };
    },
  );
}
