import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ChannelRuntime } from '../../channel/runtime.js';
import { DELIVERY_STATUSES, DeliveryList, DeliveryView, ErrorBody, ReplayRange, splitEventName } from '@wagate/protocol';
import type { Delivery } from '../../store/types.js';
import { webhookId } from '../../webhooks/dispatcher.js';
import type { WebhookService } from '../../webhooks/service.js';

const tags = ['Webhooks'];
const MAX_RANGE_REPLAY = 10_000;

/** The wire form of a delivery. */
export function deliveryView(d: Delivery): DeliveryView {
  const { type, method } = splitEventName(d.eventName);
  return {
    id: d.id,
    webhook_id: webhookId(d),
    event: { type, event: method },
    channel_id: d.channelId,
    url: d.target.url,
    mode: d.target.mode,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    created_at: d.createdAt,
    delivered_at: d.deliveredAt,
    last_status: d.lastStatus,
    last_error: d.lastError,
    replay_of: d.replayOf,
  };
}

/** The filters and paging of the delivery log. */
export const DeliveryQuery = Type.Object({
  status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
  since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  until: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'only deliveries after this one in the log (the last id of the previous page): paging that costs the same at any depth' })),
  token: Type.Optional(Type.String()),
});
export type DeliveryQuery = Static<typeof DeliveryQuery>;

/** One page of a channel's delivery log, newest first, in its wire form. */
export async function deliveryPage(webhooks: WebhookService, channelId: string, q: DeliveryQuery): Promise<Static<typeof DeliveryList>> {
  // The schema's defaults fill count and offset before this runs.
  const page = { count: q.count ?? 100, offset: q.offset ?? 0 };
  const filter = { channelId, status: q.status, since: q.since, until: q.until, before: q.before };
  const { deliveries, total, totalCapped } = await webhooks.deliveries(filter, page);
  return { deliveries: deliveries.map(deliveryView), total, total_capped: totalCapped, count: deliveries.length, offset: page.offset, retention_days: webhooks.retentionDays };
}

/** Replays one delivery of the channel and answers the fresh copy. */
export async function replayOne(webhooks: WebhookService, channel: ChannelRuntime, id: number): Promise<DeliveryView> {
  const [copy] = await webhooks.replay(channel, [id]);
  return deliveryView(copy as Delivery);
}

/** Replays every delivery of the channel created in a range (and of a status, if given). */
export async function replayRange(webhooks: WebhookService, channel: ChannelRuntime, body: ReplayRange): Promise<{ replayed: number; deliveries: DeliveryView[] }> {
  const copies = await webhooks.replayRange(channel, { since: body.since, until: body.until, status: body.status }, MAX_RANGE_REPLAY);
  return { replayed: copies.length, deliveries: copies.map(deliveryView) };
}

/** The answer of a range replay. */
export const ReplayRangeAnswer = Type.Object({ replayed: Type.Integer(), deliveries: Type.Array(DeliveryView) });

/** The delivery log and replay (extension): `/webhooks/deliveries*`. */
export async function deliveryRoutes(app: FastifyInstance): Promise<void> {
  const { webhooks } = app.wagate;

  app.get(
    '/webhooks/deliveries',
    {
      schema: {
        tags,
        summary: 'The delivery log, newest first',
        querystring: DeliveryQuery,
        response: { 200: DeliveryList, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => deliveryPage(webhooks, req.channel.id, req.query as DeliveryQuery),
  );

  app.post(
    '/webhooks/deliveries/:id/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery again (a fresh copy, queued behind newer events)',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: { 200: DeliveryView, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => replayOne(webhooks, req.channel, (req.params as { id: number }).id),
  );

  app.post(
    '/webhooks/deliveries/replay',
    {
      schema: {
        tags,
        summary: 'Send again every delivery created in a time range',
        body: ReplayRange,
        response: { 200: ReplayRangeAnswer, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      return replayRange(webhooks, req.channel, req.body as ReplayRange);
    },
  );
}
