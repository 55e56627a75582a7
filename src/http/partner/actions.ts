import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody, MessagesList, ReplayRange, SendText, SentMessage, Success, WebhookTestRequest } from '@wagate/protocol';
import { ReplayRangeAnswer, replayRange } from '../gate/deliveries.js';
import { MessageFilters, messagePage, type MessageQuery } from '../gate/messages.js';
import { logout } from '../gate/users.js';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/**
 * The gate API's actions by channel id, for the dashboard and the CLI: logout, a text send,
 * the message list, a webhook test and a range replay. Each calls what its gate route calls.
 */
export async function partnerActionRoutes(app: FastifyInstance): Promise<void> {
  const { channels, messages, store, webhooks } = app.wagate;
  const channelOf = (params: unknown) => channels.get((params as ChannelIdParams).id);

  app.post(
    '/partner/channels/:id/logout',
    { schema: { tags, summary: 'Log the linked account out (as POST /users/logout)', params: ChannelIdParams, response: { 200: Success, ...partnerErrors } } },
    async (req) => logout(channelOf(req.params)),
  );

  app.post(
    '/partner/channels/:id/messages/text',
    {
      schema: {
        tags,
        summary: 'Send a text message (as POST /messages/text)',
        params: ChannelIdParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
        body: SendText,
        response: { 200: SentMessage, ...partnerErrors, 502: ErrorBody },
      },
    },
    async (req, reply) => {
      const answer = await messages.sendText(channelOf(req.params), req.body as SendText, req.headers['idempotency-key'] as string | undefined);
      if (answer.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.status(answer.status as 200).send(answer.body);
    },
  );

  app.get(
    '/partner/channels/:id/messages/list',
    {
      schema: {
        tags,
        // The operator reads what the store holds, in any status: the gate route needs AUTH.
        summary: "The channel's messages, newest first (as GET /messages/list, in any status)",
        params: ChannelIdParams,
        querystring: Type.Object(MessageFilters),
        response: { 200: MessagesList, ...partnerErrors },
      },
    },
    async (req) => messagePage(store, channelOf(req.params).id, req.query as MessageQuery),
  );

  app.post(
    '/partner/channels/:id/settings/webhook_test',
    { schema: { tags, summary: 'Send a test event to a webhook (as POST /settings/webhook_test)', params: ChannelIdParams, body: WebhookTestRequest, response: partnerErrors } },
    async (req) => webhooks.test(channelOf(req.params), req.body as WebhookTestRequest),
  );

  app.post(
    '/partner/channels/:id/deliveries/replay',
    {
      schema: {
        tags,
        summary: 'Send again every delivery created in a time range (as POST /webhooks/deliveries/replay)',
        params: ChannelIdParams,
        body: ReplayRange,
        response: { 200: ReplayRangeAnswer, ...partnerErrors },
      },
    },
    async (req) => replayRange(webhooks, channelOf(req.params), req.body as ReplayRange),
  );
}
