import type { FastifyInstance } from 'fastify';
import { Success, ProxyIdParams, ProxyInput, ProxyList, ProxyView, QuarantineBody } from '@wagate/protocol';
import { partnerErrors } from './params.js';

const tags = ['Proxies'];
type IdParams = { id: string };

/** The proxy pool under `/partner/proxies` (SPEC §11), admin token only. */
export async function partnerProxyRoutes(app: FastifyInstance): Promise<void> {
  const { proxies } = app.wagate;

  app.put(
    '/partner/proxies',
    { schema: { tags, summary: 'Add a proxy to the pool', body: ProxyInput, response: { 200: ProxyView, ...partnerErrors } } },
    async (req) => proxies.add(req.body as ProxyInput),
  );

  app.get('/partner/proxies', { schema: { tags, summary: 'The pool: each proxy with its channels and health', response: { 200: ProxyList, ...partnerErrors } } }, async () => {
    const list = proxies.list();
    return { proxies: list, total: list.length };
  });

  app.delete(
    '/partner/proxies/:id',
    { schema: { tags, summary: 'Remove a proxy; its channels take another at their next connection', params: ProxyIdParams, response: { 200: Success, ...partnerErrors } } },
    async (req) => {
      await proxies.remove((req.params as IdParams).id);
      return { success: true };
    },
  );

  app.post(
    '/partner/proxies/:id/quarantine',
    { schema: { tags, summary: 'Quarantine a proxy: no new channels', params: ProxyIdParams, body: QuarantineBody, response: { 200: ProxyView, ...partnerErrors } } },
    async (req) => proxies.quarantine((req.params as IdParams).id, (req.body as { reason?: string }).reason ?? 'quarantined by the operator'),
  );

  app.post(
    '/partner/proxies/:id/release',
    { schema: { tags, summary: 'Release a quarantined proxy after a probe (409 when the probe fails)', params: ProxyIdParams, response: { 200: ProxyView, ...partnerErrors } } },
    async (req) => proxies.release((req.params as IdParams).id),
  );
}
