import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../protocol/index.js';
import { Settings, SettingsEventsAnswer, SettingsPatch, UpdateSettingsAnswer, WebhookTestRequest } from '../../protocol/settings.js';
import { EVENT_CATALOGUE } from '../../protocol/events.js';

const tags = ['Settings'];

/** `GET/PATCH/DELETE /settings`, `GET /settings/events`, `POST /settings/webhook_test` (SPEC §5). */
export async function settingsRoutes(app: FastifyInstance): Promise<void> {
  const { webhooks } = app.wagate;

  app.get('/settings', { schema: { tags, summary: 'Get channel settings', response: { 200: Settings, 401: ErrorBody } } }, async (req) =>
    webhooks.settings(req.channel),
  );

  app.patch(
    '/settings',
    { schema: { tags, summary: 'Update channel settings', body: SettingsPatch, response: { 200: UpdateSettingsAnswer, 400: ErrorBody, 401: ErrorBody } } },
    async (req) => webhooks.patch(req.channel, req.body),
  );

  app.delete('/settings', { schema: { tags, summary: 'Reset channel settings', response: { 200: Settings, 401: ErrorBody } } }, async (req) =>
    webhooks.reset(req.channel),
  );

  app.get(
    '/settings/events',
    { schema: { tags, summary: 'The events wagate sends', response: { 200: SettingsEventsAnswer, 401: ErrorBody } } },
    async () => EVENT_CATALOGUE.map(({ type, method }) => ({ type, method })),
  );

  app.post(
    '/settings/webhook_test',
    { schema: { tags, summary: 'Send a test event to a webhook', body: WebhookTestRequest, response: { 400: ErrorBody, 401: ErrorBody } } },
    async (req) => webhooks.test(req.channel, req.body as WebhookTestRequest),
  );
}
