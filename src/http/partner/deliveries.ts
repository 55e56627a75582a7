import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DELIVERY_ATTEMPTS_SHOWN, DeliveryDetail, DeliveryList, DeliveryView, errors } from '@wagate/protocol';
import { DeliveryQuery, deliveryPage, deliveryView, replayOne } from '../gate/deliveries.js';
import { webhookId } from '../../webhooks/dispatcher.js';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/** Header names whose values are secrets: shown as `••••` and their last 4 characters. */
const SECRET_HEADER = /token|key|secret|auth|signature|cookie|password/i;

function mask(value: string): string {
  return value.length <= 8 ? '••••' : `••••${value.slice(-4)}`;
}

/** `:id/deliveries/:deliveryId`: a channel and one of its deliveries. */
const DeliveryIdParams = Type.Object({ ...ChannelIdParams.properties, deliveryId: Type.Integer({ minimum: 1 }) });

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

  app.get(
    '/partner/channels/:id/deliveries/:deliveryId',
    {
      schema: {
        tags,
        summary: 'One delivery in full: the payload and the headers sent (secrets masked), its answers and next attempt (extension)',
        params: DeliveryIdParams,
        response: { 200: DeliveryDetail, ...partnerErrors },
      },
    },
    async (req) => {
      const { id, deliveryId } = req.params as { id: string; deliveryId: number };
      const channel = channels.get(id);
      const d = await app.wagate.store.getDelivery(deliveryId);
      if (!d || d.channelId !== channel.id) throw errors.notFound(`delivery ${deliveryId} does not exist on ${channel.id}`);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': webhookId(d) };
      for (const [k, v] of Object.entries(d.target.headers)) headers[k] = SECRET_HEADER.test(k) ? mask(v) : v;
      if (d.target.secret) headers['webhook-signature'] = 'v1,•••• (HMAC-SHA256 of id.timestamp.body, made on each attempt)';
      let payload: unknown = d.body;
      try {
        payload = JSON.parse(d.body) as unknown;
      } catch {
        // Stored bodies are JSON; a broken one is shown as the text it is.
      }
      const attempts = await app.wagate.store.listDeliveryAttempts(d.id, DELIVERY_ATTEMPTS_SHOWN);
      const attempt_log = attempts.map((a) => ({ attempt: a.attempt, at: a.at, status: a.status, error: a.error, duration_ms: a.durationMs, answer: a.answer }));
      return { delivery: deliveryView(d), payload, headers, signed: d.target.secret !== null, attempt_log };
    },
  );

  app.post(
    '/partner/channels/:id/deliveries/:deliveryId/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery again (as POST /webhooks/deliveries/{id}/replay)',
        params: DeliveryIdParams,
        response: { 200: DeliveryView, ...partnerErrors },
      },
    },
    async (req) => {
      const { id, deliveryId } = req.params as { id: string; deliveryId: number };
      return replayOne(webhooks, channels.get(id), deliveryId);
    },
  );
}
