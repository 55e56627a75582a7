import type { FastifyInstance } from 'fastify';
import { Success } from '@wagate/protocol';
import { SANDBOX_CONTROLS, type SandboxControl } from '../gate/sandbox.js';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/** The sandbox controls by channel id for the admin token (as `POST /sandbox/{control}`); 404 on other engines. */
export async function partnerSandboxRoutes(app: FastifyInstance): Promise<void> {
  const { channels } = app.wagate;
  for (const [name, control] of Object.entries(SANDBOX_CONTROLS) as Array<[string, SandboxControl]>) {
    app.post(
      `/partner/channels/:id/sandbox/${name}`,
      {
        schema: {
          tags,
          summary: `Sandbox: ${control.summary}`,
          params: ChannelIdParams,
          ...(control.body && { body: control.body }),
          response: { 200: control.answer ?? Success, ...partnerErrors },
        },
      },
      async (req) => control.run(channels.get((req.params as ChannelIdParams).id), req.body as never),
    );
  }
}
