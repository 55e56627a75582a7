import { Type, type Static } from '@sinclair/typebox';
import { ChannelStatusSchema, Health, User } from './health.js';
import { STATUS_TEXTS, type StatusText } from './status.js';

export const ENGINE_KINDS = ['sandbox', 'baileys'] as const;

/** A channel as the partner API shows it. `token` only on create and rotate. */
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
  /** Extension: the linked account's number and name. */
  user: Type.Optional(User),
  flapping: Type.Optional(Type.Boolean({ description: 'extension: three drops out of AUTH within 15 minutes' })),
  webhook_failing: Type.Optional(Type.Boolean({ description: 'extension: a webhook of this channel is failing' })),
  reason: Type.Optional(Type.String({ description: 'why the channel is in its status (extension)' })),
  detail: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: "the latest status change's detail (extension)" })),
  node: Type.Optional(
    Type.Union([Type.String(), Type.Null()], { description: 'extension, several nodes on PostgreSQL: the node that runs the channel (null while none holds its lease)' }),
  ),
});
export type PartnerChannel = Static<typeof PartnerChannel>;

/** The fleet view's filters (extension): all optional, so a plain `?count&offset` is Whapi's list. */
export const FleetQuery = Type.Object({
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  status: Type.Optional(Type.Union(STATUS_TEXTS.map((s) => Type.Literal(s)), { description: 'extension: only channels in this status' })),
  flag: Type.Optional(Type.Union([Type.Literal('flapping'), Type.Literal('webhook_failing')], { description: 'extension: only flapping channels, or those whose webhooks fail' })),
  search: Type.Optional(Type.String({ maxLength: 100, description: "extension: part of the id, the name or the account's number" })),
  sort: Type.Optional(Type.Union([Type.Literal('created'), Type.Literal('name'), Type.Literal('id'), Type.Literal('status')], { default: 'created' })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' })),
});
export type FleetQuery = Static<typeof FleetQuery>;

/** Counts over every channel, whatever the filter (extension). */
export const FleetCounts = Type.Object({
  all: Type.Integer(),
  by_status: Type.Record(Type.String(), Type.Integer()),
  flapping: Type.Integer(),
  webhook_failing: Type.Integer(),
});
export type FleetCounts = Static<typeof FleetCounts> & { by_status: Record<StatusText, number> };

/** `total` counts the channels that match the filter; `counts` (extension) the whole fleet. */
export const PartnerChannelList = Type.Object({
  channels: Type.Array(PartnerChannel),
  total: Type.Integer(),
  counts: Type.Optional(FleetCounts),
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
