import { Type, type Static } from '@sinclair/typebox';
import { STATUS_TEXTS } from './status.js';

/** A linked WhatsApp account as Whapi reports it (`Contact` with at least an id). */
export const User = Type.Object({
  id: Type.String(),
  name: Type.Optional(Type.String()),
});
export type User = Static<typeof User>;

export const ChannelStatusSchema = Type.Object({
  code: Type.Integer({ minimum: 0, maximum: 7 }),
  text: Type.Union(STATUS_TEXTS.map((t) => Type.Literal(t))),
});

/** Whapi's `Health` object. */
export const Health = Type.Object(
  {
    channel_id: Type.String(),
    start_at: Type.Integer(),
    uptime: Type.Integer(),
    version: Type.String(),
    status: ChannelStatusSchema,
    user: Type.Optional(User),
  },
  { $id: 'Health' },
);
export type Health = Static<typeof Health>;

export const QR_STATUSES = ['OK', 'TIMEOUT', 'WAITING', 'ERROR'] as const;

/** Whapi's `QR` object. */
export const QR = Type.Object(
  {
    status: Type.Union(QR_STATUSES.map((s) => Type.Literal(s))),
    base64: Type.Optional(Type.String()),
    rowdata: Type.Optional(Type.String()),
    expire: Type.Optional(Type.Integer()),
  },
  { $id: 'QR' },
);
export type QR = Static<typeof QR>;

export const PairingCode = Type.Object({ code: Type.String() });
export type PairingCode = Static<typeof PairingCode>;

export const Profile = Type.Object({
  name: Type.String(),
  about: Type.String(),
  icon: Type.String(),
});
export type Profile = Static<typeof Profile>;

export const Success = Type.Object({ success: Type.Boolean() });

/** One row of the status history (extension, `GET /health/history`). */
export const HistoryEntry = Type.Object({
  at: Type.Integer({ description: 'unix milliseconds' }),
  from: Type.Union(STATUS_TEXTS.map((t) => Type.Literal(t))),
  to: Type.Union(STATUS_TEXTS.map((t) => Type.Literal(t))),
  reason: Type.String(),
  detail: Type.Optional(Type.String()),
});
export type HistoryEntry = Static<typeof HistoryEntry>;

export const HistoryPage = Type.Object({
  history: Type.Array(HistoryEntry),
  total: Type.Integer(),
  count: Type.Integer(),
  offset: Type.Integer(),
});
