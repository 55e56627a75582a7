import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import type { ChannelRuntime } from '../../channel/runtime.js';
import { SandboxOptions } from '../../engines/sandbox/options.js';
import { BaileysOptions } from '../../engines/baileys/options.js';
import { ChannelIdParams } from './params.js';
import { CreateChannelBody, ErrorBody, FleetQuery, PartnerChannel, PartnerChannelList, Success, channelStatus, errors } from '@wagate/protocol';
import { queryFleet } from '../../channel/fleet.js';

/** An engine's creation options: only on a channel of that engine, and valid by its schema. */
function checkEngineOptions(kind: 'sandbox' | 'baileys', engine: string, options: unknown, schema: TSchema): void {
  if (options === undefined) return;
  if (engine !== kind) throw errors.badRequest(`body.${kind}: only ${kind} channels take ${kind} options`);
  const problem = [...Value.Errors(schema, options)][0];
  if (problem) throw errors.badRequest(`body.${kind}${problem.path.replace(/\//g, '.')}: ${problem.message}`);
}

const tags = ['Partner'];
const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** The partner API under `/partner` (SPEC §7), admin token only. */
export async function partnerChannelRoutes(app: FastifyInstance): Promise<void> {
  const { channels } = app.wagate;

  const webhookFailing = (id: string): boolean => app.wagate.webhooks.dispatcher.isFailing(id);
  /** Several nodes: each channel's owner node (null while none holds its lease). */
  const withOwners = async (views: PartnerChannel[]): Promise<PartnerChannel[]> => {
    const cluster = app.wagate.node ? app.wagate.store.cluster : undefined;
    if (!cluster) return views;
    const owners = await cluster.channelOwners(views.map((v) => v.id));
    for (const v of views) v.node = owners.get(v.id)?.nodeId ?? null;
    return views;
  };
  const view = (runtime: ChannelRuntime, extra: { token?: string; health?: boolean } = {}): PartnerChannel => {
    const out: PartnerChannel = {
      id: runtime.id,
      name: runtime.record.name,
      engine: runtime.record.engine,
      status: channelStatus(runtime.state.status),
      creationTS: runtime.record.createdAt,
      stopped: runtime.record.stopped,
      apiUrl: app.wagate.apiUrl(),
      reason: runtime.state.reason,
      detail: runtime.state.detail,
    };
    if (runtime.state.user) out.user = { ...runtime.state.user };
    if (runtime.state.flapping) out.flapping = true;
    if (webhookFailing(runtime.id)) out.webhook_failing = true;
    if (extra.token) out.token = extra.token;
    if (extra.health) out.health = runtime.health();
    return out;
  };

  app.put(
    '/partner/channels',
    { schema: { tags, summary: 'Create a channel', body: CreateChannelBody, response: { 200: PartnerChannel, ...errorResponses } } },
    async (req) => {
      const body = req.body as CreateChannelBody;
      const engine = body.engine ?? app.wagate.defaultEngine;
      checkEngineOptions('sandbox', engine, body.sandbox, SandboxOptions);
      checkEngineOptions('baileys', engine, body.baileys, BaileysOptions);
      const settings = body.settings === undefined ? undefined : await app.wagate.webhooks.settingsForNewChannel(body.settings);
      const engineOptions = body.sandbox ?? body.baileys ?? {};
      const { runtime, token } = await channels.create({ name: body.name, engine, settings, engineOptions, start: body.start });
      return view(runtime, { token });
    },
  );

  app.get(
    '/partner/channels/list',
    {
      schema: {
        tags,
        summary: 'List channels; extension: filter by status, flag or search, sort, and counts over the fleet',
        querystring: FleetQuery,
        response: { 200: PartnerChannelList, ...errorResponses },
      },
    },
    async (req) => {
      const page = queryFleet(channels.all(), req.query as FleetQuery, { webhookFailing });
      return { channels: await withOwners(page.channels.map((r) => view(r))), total: page.total, counts: page.counts };
    },
  );

  app.get(
    '/partner/channels/:id',
    { schema: { tags, summary: 'Get a channel with its health', params: ChannelIdParams, response: { 200: PartnerChannel, ...errorResponses } } },
    async (req) => (await withOwners([view(channels.get((req.params as { id: string }).id), { health: true })]))[0],
  );

  app.delete(
    '/partner/channels/:id',
    { schema: { tags, summary: 'Delete a channel', params: ChannelIdParams, response: { 200: Success, ...errorResponses } } },
    async (req) => {
      await channels.remove((req.params as { id: string }).id);
      return { success: true };
    },
  );

  const action = (path: string, summary: string, run: (id: string) => Promise<ChannelRuntime>): void => {
    app.post(
      `/partner/channels/:id/${path}`,
      { schema: { tags, summary, params: ChannelIdParams, response: { 200: PartnerChannel, ...errorResponses } } },
      async (req) => view(await run((req.params as { id: string }).id), { health: true }),
    );
  };
  action('restart', "Restart the channel's run", (id) => channels.restart(id));
  action('stop', 'Stop the channel (STOP)', (id) => channels.stop(id));
  action('start', 'Start the channel', (id) => channels.start(id));

  app.post(
    '/partner/channels/:id/token',
    { schema: { tags, summary: 'Rotate the channel token', params: ChannelIdParams, response: { 200: PartnerChannel, ...errorResponses } } },
    async (req) => {
      const { runtime, token } = await channels.rotateToken((req.params as { id: string }).id);
      return view(runtime, { token });
    },
  );
}
