import type { FastifyInstance } from 'fastify';
import { hashToken, sameHash } from '../../channel/tokens.js';
import { errors } from '../../protocol/index.js';
import { requestToken } from '../auth.js';

/** `GET /metrics` (Prometheus), behind the admin token or WAGATE_METRICS_TOKEN. */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { metrics, metricsTokenHash, adminTokenHash } = app.wagate;

  app.get('/metrics', { schema: { tags: ['Operations'], summary: 'Prometheus metrics', hide: true } as object }, async (req, reply) => {
    const token = requestToken(req);
    if (!token) throw errors.invalidToken('send the admin token or WAGATE_METRICS_TOKEN as "Authorization: Bearer <token>"');
    const hash = hashToken(token);
    const allowed = sameHash(hash, adminTokenHash()) || (metricsTokenHash !== null && sameHash(hash, metricsTokenHash));
    if (!allowed) throw errors.invalidToken('the token is neither the admin token nor the metrics token');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
