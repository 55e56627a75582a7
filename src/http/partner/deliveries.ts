import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DeliveryList, DeliveryView } from '../../protocol/index.js';
import { DeliveryQuery, deliveryPage, replayOne } from '../gate/deliveries.js';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/** A channel's delivery log and replay for the admin token (as `/webhooks/deliveries*`). */
export async function partnerDeliveryRoutes(app: FastifyInstance): Promise<void> {
  const { channels, webhooks } = app.wagate;

  app.get(
    '/partner/channels/:id/deliveries',
    {
      schema: {
        tags,
        summary: "The channel's delivery log, newest first (as GET /webhooks/deliveries)",
        params: ChannelIdParams,
        querystring: DeliveryQuery,
        response: { 200: DeliveryList, ...partnerErrors },
      },
    },
    async (req) => deliveryPage(webhooks, channels.get((req.params as ChannelIdParams).id).id, req.query as DeliveryQuery),
  );

  app.post(
    '/partner/channels/:id/deliveries/:deliveryId/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery again (as POST /webhooks/deliveries/{id}/replay)',
        params: Type.Object({ ...ChannelIdParams.properties, deliveryId: Type.Integer({ minimum: 1 }) }),
        response: { 200: DeliveryView, ...partnerErrors },
      },
    },
    async (req) => {
      const { id, deliveryId } = req.params as { id: string; deliveryId: number };
      return replayOne(webhooks, channels.get(id), deliveryId);
    },
  );
}
