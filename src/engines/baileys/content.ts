import type { AnyMessageContent, WAMessageKey } from 'baileys';
import type { MessageRef, OutgoingContent } from '../engine.js';

/** A mention as a jid: `61371989950` → `61371989950@s.whatsapp.net`. */
export function mentionJid(mention: string): string {
  return mention.includes('@') ? mention : `${mention}@s.whatsapp.net`;
}

/** A message key for a message of ours or of the chat's contact. */
export function keyOf(ref: MessageRef): WAMessageKey {
  return { remoteJid: ref.chatId, id: ref.id, fromMe: ref.fromMe };
}

/** What WhatsApp puts in a forwarded message's context. */
export const FORWARDED = { isForwarded: true, forwardingScore: 1 } as const;

/** Content that is a message of its own (stars, read receipts and deletes for this device are not). */
export type MessageContent = Exclude<OutgoingContent, { kind: 'star' | 'read' }>;

/**
 * wagate's content as Baileys' `sendMessage` takes it. Media goes as a Buffer: Baileys encrypts
 * it (streaming through a temporary file) and uploads it to WhatsApp's media host itself.
 * A forward carries WhatsApp's forwarded context.
 */
export function baileysContent(c: MessageContent): AnyMessageContent {
  const content = messageContent(c);
  return c.forwarded ? ({ ...content, contextInfo: FORWARDED } as AnyMessageContent) : content;
}

function messageContent(c: MessageContent): AnyMessageContent {
  const mentions = c.mentions?.length ? c.mentions.map(mentionJid) : undefined;
  switch (c.kind) {
    case 'media': {
      const { bytes, mimeType, fileName } = c.file;
      const shared = { mimetype: mimeType, ...(mentions && { mentions }) };
      const visual = { caption: c.caption, viewOnce: c.viewOnce, width: c.width, height: c.height };
      switch (c.type) {
        case 'image':
          return { image: bytes, ...visual, ...shared };
        case 'video':
        case 'short':
          return { video: bytes, ...visual, ...shared };
        case 'gif':
          return { video: bytes, gifPlayback: true, ...visual, ...shared };
        case 'audio':
          return { audio: bytes, ptt: false, seconds: c.seconds, ...shared };
        case 'voice':
          return { audio: bytes, ptt: true, seconds: c.seconds, ...shared };
        case 'document':
          return { document: bytes, fileName: fileName ?? 'file', caption: c.caption, ...shared };
        case 'sticker':
          return { sticker: bytes, ...shared };
      }
      break;
    }
    case 'location':
      return { location: { degreesLatitude: c.latitude, degreesLongitude: c.longitude, name: c.name, address: c.address, url: c.url } };
    case 'contacts':
      return { contacts: { displayName: c.contacts.length === 1 ? c.contacts[0]!.name : `${c.contacts.length} contacts`, contacts: c.contacts.map((x) => ({ displayName: x.name, vcard: x.vcard })) } };
    case 'link_preview':
      return {
        text: c.body,
        linkPreview: { 'canonical-url': c.canonical ?? '', 'matched-text': c.canonical ?? '', title: c.title, description: c.description, jpegThumbnail: c.thumbnail },
        ...(mentions && { mentions }),
      };
    case 'reaction':
      return { react: { text: c.emoji, key: keyOf(c.target) } };
    case 'pin':
      // PIN_FOR_ALL = 1, UNPIN_FOR_ALL = 2 (proto.PinInChat.Type)
      return { pin: keyOf(c.target), type: c.pin ? 1 : 2, time: c.seconds as 86400 };
    case 'delete':
      // A revoke for everyone (a protocol message); only a message of ours can be revoked.
      return { delete: keyOf(c.target) };
  }
  throw new Error(`unknown media type ${(c as { type?: string }).type}`);
}
