import { Type, type Static } from '@sinclair/typebox';

/** Whapi's media message types (`MediaMessageType`), plus `short` which has its own route. */
export const MEDIA_KINDS = ['image', 'video', 'gif', 'short', 'audio', 'voice', 'document', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];
/** The kinds `POST /messages/media/{MediaMessageType}` takes (Whapi's enum). */
export const MEDIA_MESSAGE_TYPES = ['image', 'video', 'gif', 'audio', 'voice', 'document', 'sticker'] as const;

/** A media id as Whapi spells them (`MediaID`): a kind, a dash, hex. */
export const MEDIA_ID_PATTERN = '^[a-zA-Z0-9]+-[0-9a-fA-F-]+$';

/** A stored file as `GET /media` lists it (Whapi's `MediaFile`; `time` is required by Whapi's schema). */
export const MediaFile = Type.Object({
  id: Type.String({ pattern: MEDIA_ID_PATTERN }),
  link: Type.Optional(Type.String({ description: 'GET /media/{MediaID} on this gateway' })),
  mime_type: Type.String(),
  file_size: Type.Integer(),
  file_name: Type.Optional(Type.String()),
  sha256: Type.Optional(Type.String({ description: 'hex' })),
  time: Type.Integer({ description: 'unix seconds, when it was stored' }),
  timestamp: Type.Optional(Type.Integer({ description: 'unix seconds, when it was stored' })),
});
export type MediaFile = Static<typeof MediaFile>;

export const MediaFiles = Type.Object({
  files: Type.Array(MediaFile),
  count: Type.Integer(),
  total: Type.Integer(),
  offset: Type.Integer(),
});

/** The answer of `POST /media` (Whapi's `UploadMediaResponse`). */
export const UploadMediaResponse = Type.Object({ media: Type.Array(Type.Object({ id: Type.String({ pattern: MEDIA_ID_PATTERN }) })) });

/** The media object of a message (Whapi's `MessageContentImage`, `…Video`, `…Audio`, `…Document`, `…Sticker`). */
export const MessageMedia = Type.Object({
  ...MediaFile.properties,
  caption: Type.Optional(Type.String()),
  preview: Type.Optional(Type.String()),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  seconds: Type.Optional(Type.Integer()),
  autoplay: Type.Optional(Type.Boolean()),
  animated: Type.Optional(Type.Boolean()),
  recording_time: Type.Optional(Type.Number()),
  view_once: Type.Optional(Type.Boolean()),
});
export type MessageMedia = Static<typeof MessageMedia>;

export const VCard = Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }), vcard: Type.String({ minLength: 1, maxLength: 65536 }) });
export type VCard = Static<typeof VCard>;

export const MessageLocation = Type.Object({
  latitude: Type.Number({ minimum: -90, maximum: 90 }),
  longitude: Type.Number({ minimum: -180, maximum: 180 }),
  address: Type.Optional(Type.String({ maxLength: 1024 })),
  name: Type.Optional(Type.String({ maxLength: 1024 })),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
  accuracy: Type.Optional(Type.Integer()),
  speed: Type.Optional(Type.Integer()),
  degrees: Type.Optional(Type.Integer()),
  comment: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type MessageLocation = Static<typeof MessageLocation>;

export const MessageLinkPreview = Type.Object({
  body: Type.String(),
  title: Type.String(),
  description: Type.Optional(Type.String()),
  canonical: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  id: Type.Optional(Type.String({ pattern: MEDIA_ID_PATTERN })),
  link: Type.Optional(Type.String()),
  sha256: Type.Optional(Type.String()),
});

/** A reaction on a message (Whapi's `MessageReaction`). */
export const MessageReaction = Type.Object({ emoji: Type.String(), t: Type.Optional(Type.Number()), count: Type.Optional(Type.Number()), unread: Type.Optional(Type.Boolean()) });
