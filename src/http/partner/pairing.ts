import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PairingCode, QR } from '@wagate/protocol';
import { WakeupQuery } from '../gate/health.js';
import { loginQr, pairingCode } from '../gate/users.js';
import { ChannelIdParams, partnerErrors, tags } from './params.js';

/** A channel's QR and pairing code for the admin token: `GET /users/login` and `/users/login/{phone}` by channel id. */
export async function partnerPairingRoutes(app: FastifyInstance): Promise<void> {
  const { channels, clock } = app.wagate;

  app.get(
    '/partner/channels/:id/qr',
    {
      schema: {
        tags,
        summary: "The channel's QR with its image (as GET /users/login)",
        params: ChannelIdParams,
        querystring: WakeupQuery,
        response: { 200: QR, ...partnerErrors },
      },
    },
    async (req) => loginQr(channels.get((req.params as ChannelIdParams).id), (req.query as { wakeup: boolean }).wakeup, clock),
  );

  app.get(
    '/partner/channels/:id/login/:phone',
    {
      schema: {
        tags,
        summary: 'A pairing code for a phone number (as GET /users/login/{phone})',
        params: Type.Object({ ...ChannelIdParams.properties, phone: Type.String() }),
        querystring: WakeupQuery,
        response: { 200: PairingCode, ...partnerErrors },
      },
    },
    async (req) => {
      const { id, phone } = req.params as { id: string; phone: string };
      return pairingCode(channels.get(id), phone, (req.query as { wakeup: boolean }).wakeup);
    },
  );
}
