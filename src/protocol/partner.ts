import { Type, type Static } from '@sinclair/typebox';
import { ChannelStatusSchema, Health } from './health.js';

export const ENGINE_KINDS = ['sandbox', 'baileys'] as const;

/** A channel as the partner API shows it (SPEC §7). `token` only on create and rotate. */
export const PartnerChannel = Type.Object({
  id: Type.String(),
  name: Type.String(),
  token: Type.Optional(Type.String()),
  engine: Type.Union(ENGINE_KINDS.map((k) => Type.Literal(k))),
  status: ChannelStatusSchema,
  creationTS: Type.Integer({ description: 'unix milliseconds' }),
  stopped: Type.Boolean(),
  apiUrl: Type.String(),
  health: Type.Optional(Health),
});
export type PartnerChannel = Static<typeof PartnerChannel>;

export const PartnerChannelList = Type.Object({
  channels: Type.Array(PartnerChannel),
  total: Type.Integer(),
});

export const CreateChannelBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    engine: Type.Optional(Type.Union(ENGINE_KINDS.map((k) => Type.Literal(k)))),
    settings: Type.Optional(Type.Object({}, { additionalProperties: true })),
    sandbox: Type.Optional(Type.Object({}, { additionalProperties: true, description: "sandbox timings (see the sandbox engine's options)" })),
    baileys: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'baileys options: ws_url, sync_timeout_ms' })),
    start: Type.Optional(Type.Boolean({ description: 'start at once (default true)' })),
  },
  { additionalProperties: false },
);
export type CreateChannelBody = Static<typeof CreateChannelBody>;

/** A single-use ticket for the partner event stream (wagate extension). */
export const StreamTicket = Type.Object({
  ticket: Type.String(),
  expires_in: Type.Integer({ description: 'seconds left to open the stream with it' }),
});
