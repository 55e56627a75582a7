import type { FastifyInstance } from 'fastify';

/** `GET /metrics` (Prometheus); the caller registers it behind the metrics credential check. */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { metrics } = app.wagate;

  app.get('/metrics', { schema: { tags: ['Operations'], summary: 'Prometheus metrics', hide: true } as object }, async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
