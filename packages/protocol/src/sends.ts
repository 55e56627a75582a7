import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { MEDIA_KINDS, MEDIA_MESSAGE_TYPES, VCard, type MediaKind } from './media.js';
import { MAX_TEXT_BODY, MENTION_PATTERN, MESSAGE_ID_PATTERN, TO_PATTERN } from './messages.js';

// The bodies of Whapi's sends other than text (`SenderImage`, `SenderLocation`, ...): Whapi's
// field names, wagate's bounds. Unknown fields answer 400, as for text.

const sender = {
  to: Type.String({ pattern: TO_PATTERN, description: 'phone number or chat id' }),
  quoted: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN })),
};
const mentions = { mentions: Type.Optional(Type.Array(Type.String({ pattern: MENTION_PATTERN }), { maxItems: 256 })) };
const viewOnce = { view_once: Type.Optional(Type.Boolean()) };
const size = { width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })), height: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) };
const caption = { caption: Type.Optional(Type.String({ maxLength: MAX_TEXT_BODY })) };
const preview = { preview: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'base64 JPEG thumbnail' })) };
const seconds = { seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })) };

/** `media` and its companions (Whapi's `SendMedia`). */
const sendMedia = {
  media: Type.String({ minLength: 1, description: 'an http(s) URL, a data: URL (base64), an uploaded media id, or a multipart file part' }),
  mime_type: Type.Optional(Type.String({ pattern: '^[\\w.+-]+/[\\w.+-]+$', maxLength: 255 })),
  no_encode: Type.Optional(Type.Boolean({ description: 'accepted; wagate never re-encodes' })),
  no_cache: Type.Optional(Type.Boolean({ description: 'accepted; wagate keeps no URL cache' })),
};

const KIND_FIELDS: Record<MediaKind, TProperties> = {
  image: { ...caption, ...preview, ...size, ...mentions, ...viewOnce },
  video: { ...caption, ...preview, ...size, ...seconds, ...mentions, ...viewOnce },
  short: { ...caption, ...preview, ...size, ...seconds, ...mentions, ...viewOnce },
  gif: { ...caption, ...preview, ...size, ...mentions, ...viewOnce, autoplay: Type.Optional(Type.Boolean()) },
  audio: { ...seconds, ...mentions, ...viewOnce },
  voice: { ...seconds, ...mentions, ...viewOnce, recording_time: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })), waveform: Type.Optional(Type.String({ maxLength: 4096 })) },
  document: { ...caption, ...preview, ...mentions, ...viewOnce, filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
  sticker: { ...size, ...viewOnce, animated: Type.Optional(Type.Boolean()) },
};

/** The body of `POST /messages/{kind}`. */
export function mediaSendSchema(kind: MediaKind): TObject {
  return Type.Object({ ...sender, ...sendMedia, ...KIND_FIELDS[kind] }, { additionalProperties: false });
}
export const MEDIA_SEND_SCHEMAS = Object.fromEntries(MEDIA_KINDS.map((k) => [k, mediaSendSchema(k)])) as Record<MediaKind, TObject>;

/** Every field a media send may carry (the union of the kinds'). */
export interface SendMedia {
  to: string;
  quoted?: string;
  media: string;
  mime_type?: string;
  caption?: string;
  mentions?: string[];
  view_once?: boolean;
  width?: number;
  height?: number;
  seconds?: number;
  filename?: string;
  [more: string]: unknown;
}

/** `POST /messages/media/{MediaMessageType}`: the file is the body, the send's fields the query (Whapi's `SendParams`). */
export const MediaSendQuery = Type.Object({
  ...sender,
  ...caption,
  ...mentions,
  ...viewOnce,
  ...seconds,
  filename: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  mime_type: sendMedia.mime_type,
  token: Type.Optional(Type.String()),
});
export const MediaMessageTypeParams = Type.Object({ MediaMessageType: Type.Union(MEDIA_MESSAGE_TYPES.map((t) => Type.Literal(t))) });

export const SendLocation = Type.Object(
  {
    ...sender,
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
    longitude: Type.Number({ minimum: -180, maximum: 180 }),
    address: Type.Optional(Type.String({ maxLength: 1024 })),
    name: Type.Optional(Type.String({ maxLength: 1024 })),
    url: Type.Optional(Type.String({ maxLength: 2048 })),
    ...preview,
    ...viewOnce,
  },
  { additionalProperties: false },
);
export type SendLocation = Static<typeof SendLocation>;

export const SendContact = Type.Object({ ...sender, ...VCard.properties }, { additionalProperties: false });
export type SendContact = Static<typeof SendContact>;

export const SendContactList = Type.Object({ ...sender, list: Type.Array(VCard, { minItems: 1, maxItems: 50 }) }, { additionalProperties: false });
export type SendContactList = Static<typeof SendContactList>;

export const SendLinkPreview = Type.Object(
  {
    ...sender,
    body: Type.String({ minLength: 1, maxLength: MAX_TEXT_BODY }),
    title: Type.String({ minLength: 1, maxLength: 1024 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    canonical: Type.Optional(Type.String({ maxLength: 2048 })),
    ...preview,
    media: Type.Optional(sendMedia.media),
    mime_type: sendMedia.mime_type,
    ...mentions,
  },
  { additionalProperties: false },
);
export type SendLinkPreview = Static<typeof SendLinkPreview>;

export const ReactToMessage = Type.Object({ emoji: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false });
export const StarMessage = Type.Object({ starred: Type.Optional(Type.Boolean({ default: true })) }, { additionalProperties: false });
export const PinMessage = Type.Object({ time: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'week' })) }, { additionalProperties: false });
/** How long each `Pin.time` pins a message, in seconds (WhatsApp's own choices). */
export const PIN_SECONDS = { day: 86_400, week: 604_800, month: 2_592_000 } as const;
