import type { FastifyInstance } from 'fastify';
import { ErrorBody, Success, subscribableEvents, SettingsAnswer, SettingsEventsAnswer, SettingsEventsQuery, SettingsPatch, UpdateSettingsAnswer, WebhookTestAnswer, WebhookTestRequest } from '@wagate/protocol';

const tags = ['Settings'];

/** `GET/PATCH/DELETE /settings`, `GET /settings/events`, `POST /settings/webhook_test` (SPEC §5). */
export async function settingsRoutes(app: FastifyInstance): Promise<void> {
  const { webhooks } = app.wagate;

  app.get('/settings', { schema: { tags, summary: 'Get channel settings', response: { 200: SettingsAnswer, 401: ErrorBody } } }, async (req) =>
    webhooks.settingsAnswer(req.channel),
  );

  app.patch(
    '/settings',
    { schema: { tags, summary: 'Update channel settings', body: SettingsPatch, response: { 200: UpdateSettingsAnswer, 400: ErrorBody, 401: ErrorBody } } },
    async (req) => webhooks.patch(req.channel, req.body),
  );

  app.delete(
    '/settings',
    { schema: { tags, summary: 'Reset channel settings', response: { 200: Success, 401: ErrorBody, 409: ErrorBody } } },
    async (req) => webhooks.reset(req.channel),
  );

  app.get(
    '/settings/events',
    { schema: { tags, summary: 'The events a webhook can subscribe to', querystring: SettingsEventsQuery, response: { 200: SettingsEventsAnswer, 401: ErrorBody } } },
    async (req) => subscribableEvents((req.query as { extensions: boolean }).extensions),
  );

  app.post(
    '/settings/webhook_test',
    {
      schema: {
        tags,
        summary: 'Send a test event to a webhook',
        body: WebhookTestRequest,
        response: { 200: WebhookTestAnswer, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => webhooks.test(req.channel, req.body as WebhookTestRequest),
  );
}
