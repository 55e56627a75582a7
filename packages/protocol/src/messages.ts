import { Type, type Static } from '@sinclair/typebox';
import { MEDIA_KINDS, MessageLinkPreview, MessageLocation, MessageMedia, MessageReaction, VCard } from './media.js';

/** Whapi's message ack statuses, in the order a message moves through them, with their codes. */
export const MESSAGE_STATUS = {
  failed: 0,
  pending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  played: 5,
  deleted: 6,
} as const;
export type MessageStatus = keyof typeof MESSAGE_STATUS;

/** `to` on a send: a phone number or a chat id (Whapi's `Sender.to` pattern). */
export const TO_PATTERN = '^[\\d-]{9,31}(@[\\w.]{1,})?$';
/**
 * A message id: as Whapi spells them (the sandbox's), or as WhatsApp does (a baileys channel's
 * messages keep WhatsApp's own ids, `3EB0…` hex and the like, which Whapi's pattern refuses).
 */
export const MESSAGE_ID_PATTERN = '^[A-Za-z0-9._]{4,30}-[A-Za-z0-9._]{4,14}(-[A-Za-z0-9._]{4,10})?(-[A-Za-z0-9._]{2,10})?$|^[A-Za-z0-9]{8,64}$';
/** A chat id: digits (and dashes for groups) and a server. */
export const CHAT_ID_PATTERN = '^[\\d-]{9,31}@[\\w.]{1,}$';
/** A mentioned user or group (Whapi's `Mentions`). */
export const MENTION_PATTERN = '^\\d{7,15}(@s\\.whatsapp\\.net)?$|^\\d{10,31}@g\\.us$';
/** The longest text body wagate sends (WhatsApp's own limit is 65,536 characters). */
export const MAX_TEXT_BODY = 4096;

/** The body of `POST /messages/text` (Whapi's `SenderText`). */
export const SendText = Type.Object(
  {
    to: Type.String({ pattern: TO_PATTERN, description: 'phone number or chat id' }),
    body: Type.String({ minLength: 1, maxLength: MAX_TEXT_BODY }),
    quoted: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN })),
    typing_time: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })),
    no_link_preview: Type.Optional(Type.Boolean()),
    wide_link_preview: Type.Optional(Type.Boolean()),
    mentions: Type.Optional(Type.Array(Type.String({ pattern: MENTION_PATTERN }), { maxItems: 256 })),
    edit: Type.Optional(Type.String({ pattern: MESSAGE_ID_PATTERN, description: 'the id of a text message this channel sent: replace its text' })),
  },
  { additionalProperties: false },
);
export type SendText = Static<typeof SendText>;

/** The message types wagate sends and receives (a subset of Whapi's `MessageType`). */
export const MESSAGE_TYPES = ['text', ...MEDIA_KINDS, 'location', 'contact', 'contact_list', 'link_preview', 'unknown'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** A message as wagate answers and sends it (a subset of Whapi's `Message`). */
export const Message = Type.Object({
  id: Type.String(),
  type: Type.Union(MESSAGE_TYPES.map((t) => Type.Literal(t))),
  chat_id: Type.String(),
  from: Type.Optional(Type.String()),
  from_me: Type.Boolean(),
  from_name: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
  timestamp: Type.Integer({ description: 'unix seconds' }),
  status: Type.Optional(Type.String()),
  text: Type.Optional(Type.Object({ body: Type.String() })),
  image: Type.Optional(MessageMedia),
  video: Type.Optional(MessageMedia),
  gif: Type.Optional(MessageMedia),
  short: Type.Optional(MessageMedia),
  audio: Type.Optional(MessageMedia),
  voice: Type.Optional(MessageMedia),
  document: Type.Optional(MessageMedia),
  sticker: Type.Optional(MessageMedia),
  location: Type.Optional(MessageLocation),
  contact: Type.Optional(VCard),
  contact_list: Type.Optional(Type.Object({ list: Type.Array(VCard) })),
  link_preview: Type.Optional(MessageLinkPreview),
  context: Type.Optional(
    Type.Object({
      quoted_id: Type.Optional(Type.String()),
      mentions: Type.Optional(Type.Array(Type.String())),
      forwarded: Type.Optional(Type.Boolean()),
      forwarding_score: Type.Optional(Type.Integer()),
    }),
  ),
  reactions: Type.Optional(Type.Array(MessageReaction)),
  /** extension: when the text was last edited (unix seconds) */
  edited_at: Type.Optional(Type.Integer()),
  /** extension: starred on this device */
  starred: Type.Optional(Type.Boolean()),
  /** extension: pinned in its chat until (unix seconds) */
  pinned_until: Type.Optional(Type.Integer()),
  /** extension: an inbound file that could not be had (type `unknown`): its kind, MIME type and why */
  media_error: Type.Optional(Type.Object({ type: Type.String(), mime_type: Type.String(), detail: Type.String() })),
});
export type Message = Static<typeof Message>;

/** The body of `POST /messages/{MessageID}` (Whapi's `ForwardMessage`). */
export const ForwardMessage = Type.Object(
  {
    to: Type.String({ pattern: TO_PATTERN, description: 'phone number or chat id to forward to' }),
    force: Type.Optional(Type.Boolean({ description: "accepted; wagate always forwards" })),
  },
  { additionalProperties: false },
);
export type ForwardMessage = Static<typeof ForwardMessage>;

export const SentMessage = Type.Object({ sent: Type.Boolean(), message: Message });
export type SentMessage = Static<typeof SentMessage>;

export const MessagesList = Type.Object({
  messages: Type.Array(Message),
  count: Type.Integer(),
  total: Type.Integer(),
  offset: Type.Integer(),
  first: Type.Integer(),
});

/** One status update (Whapi's `Status`); `timestamp` is a string in Whapi's schema. */
export const StatusUpdate = Type.Object({
  id: Type.String(),
  code: Type.Integer(),
  status: Type.String(),
  recipient_id: Type.String(),
  timestamp: Type.String(),
});
export type StatusUpdate = Static<typeof StatusUpdate>;

export const Chat = Type.Object({
  id: Type.String(),
  type: Type.String(),
  name: Type.Optional(Type.String()),
  timestamp: Type.Integer(),
  unread: Type.Integer(),
  last_message: Type.Optional(Message),
});
export type Chat = Static<typeof Chat>;

export const ChatsList = Type.Object({
  chats: Type.Array(Chat),
  count: Type.Integer(),
  total: Type.Integer(),
  offset: Type.Integer(),
});

/** A phone number or chat id as a chat id: `61371989950` → `61371989950@s.whatsapp.net`. */
export function normaliseChatId(to: string): string {
  if (to.includes('@')) return to.replace(/@c\.us$/, '@s.whatsapp.net');
  return to.includes('-') ? `${to}@g.us` : `${to}@s.whatsapp.net`;
}

/** The chat type a chat id names. */
export function chatType(chatId: string): 'contact' | 'group' | 'broadcast' | 'newsletter' | 'unknown' {
  if (chatId.endsWith('@s.whatsapp.net')) return 'contact';
  if (chatId.endsWith('@g.us')) return 'group';
  if (chatId.endsWith('@broadcast')) return 'broadcast';
  if (chatId.endsWith('@newsletter')) return 'newsletter';
  return 'unknown';
}
