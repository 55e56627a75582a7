import type { FastifyInstance } from 'fastify';
import { subscribableEvents, SettingsAnswer, SettingsEventsAnswer, SettingsEventsQuery, SettingsPatch, UpdateSettingsAnswer } from '@wagate/protocol';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/** A channel's settings for the admin token: `GET|PATCH /settings` by channel id. */
export async function partnerSettingsRoutes(app: FastifyInstance): Promise<void> {
  const { channels, webhooks } = app.wagate;
  const channelOf = (params: unknown) => channels.get((params as ChannelIdParams).id);

  app.get(
    '/partner/channels/:id/settings',
    { schema: { tags, summary: "The channel's settings (as GET /settings)", params: ChannelIdParams, response: { 200: SettingsAnswer, ...partnerErrors } } },
    async (req) => webhooks.settingsAnswer(channelOf(req.params)),
  );

  app.patch(
    '/partner/channels/:id/settings',
    {
      schema: {
        tags,
        summary: "Update the channel's settings (as PATCH /settings)",
        params: ChannelIdParams,
        body: SettingsPatch,
        response: { 200: UpdateSettingsAnswer, ...partnerErrors },
      },
    },
    async (req) => webhooks.patch(channelOf(req.params), req.body),
  );

  app.get(
    '/partner/channels/:id/settings/events',
    { schema: { tags, summary: 'The events a webhook can subscribe to (as GET /settings/events)', params: ChannelIdParams, querystring: SettingsEventsQuery, response: { 200: SettingsEventsAnswer, ...partnerErrors } } },
    async (req) => {
      channelOf(req.params);
      return subscribableEvents((req.query as { extensions: boolean }).extensions);
    },
  );
}
