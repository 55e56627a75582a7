import type { MessageRef, OutgoingContent } from '../engines/engine.js';
import {
  PIN_SECONDS,
  type MediaFile,
  type MediaKind,
  type Message,
  type SendContact,
  type SendContactList,
  type SendLinkPreview,
  type SendLocation,
  type SendMedia,
} from '@wagate/protocol';
import type { StoredMessage } from '../store/types.js';
import { postedMessage, type Outgoing } from './outgoing.js';

/** A new message of any kind but text: the engine's content and the Message's own field. */
function contentOutgoing(request: unknown, chatId: string, content: OutgoingContent, type: Message['type'], field: Partial<Message>, input: { quoted?: string; mentions?: string[] }): Outgoing {
  return {
    request,
    chatId,
    send: (conn, id) => conn.sendContent({ ...content, id }),
    commit: postedMessage(chatId, { type, ...field }, input),
  };
}

/** `POST /messages/{image,video,...}`: the file is already resolved and stored (`file`). */
export function mediaOutgoing(kind: MediaKind, input: SendMedia, chatId: string, file: { bytes: Buffer; view: MediaFile }, requestDigest: string): Outgoing {
  const media: Record<string, unknown> = { ...file.view };
  for (const key of ['caption', 'width', 'height', 'seconds', 'view_once', 'autoplay', 'animated', 'recording_time'] as const) {
    if (input[key] !== undefined) media[key] = input[key];
  }
  if (kind === 'document' && input.filename) media.file_name = input.filename;
  const content: OutgoingContent = {
    kind: 'media',
    type: kind,
    chatId,
    quoted: input.quoted,
    mentions: input.mentions,
    file: { bytes: file.bytes, mimeType: file.view.mime_type, fileName: (media.file_name as string | undefined) ?? file.view.file_name },
    caption: input.caption,
    viewOnce: input.view_once,
    seconds: input.seconds,
    width: input.width,
    height: input.height,
  };
  // The hash covers the file's digest, so the same key with another file (same URL text, new bytes) is told apart.
  return contentOutgoing({ ...input, media_sha256: requestDigest }, chatId, content, kind, { [kind]: media }, input);
}

export function locationOutgoing(input: SendLocation, chatId: string): Outgoing {
  const { to: _to, quoted: _quoted, preview: _preview, view_once: _once, ...location } = input;
  return contentOutgoing(input, chatId, { kind: 'location', chatId, quoted: input.quoted, ...location }, 'location', { location }, input);
}

export function contactOutgoing(input: SendContact, chatId: string): Outgoing {
  const contact = { name: input.name, vcard: input.vcard };
  return contentOutgoing(input, chatId, { kind: 'contacts', chatId, quoted: input.quoted, contacts: [contact] }, 'contact', { contact }, input);
}

export function contactListOutgoing(input: SendContactList, chatId: string): Outgoing {
  return contentOutgoing(input, chatId, { kind: 'contacts', chatId, quoted: input.quoted, contacts: input.list }, 'contact_list', { contact_list: { list: input.list } }, input);
}

/** `POST /messages/link_preview`; `thumbnail` is the preview image, already resolved. */
export function linkPreviewOutgoing(input: SendLinkPreview, chatId: string, thumbnail?: { bytes: Buffer; view: MediaFile }): Outgoing {
  const preview: NonNullable<Message['link_preview']> = { body: input.body, title: input.title };
  if (input.description) preview.description = input.description;
  if (input.canonical) preview.canonical = input.canonical;
  if (thumbnail) Object.assign(preview, { id: thumbnail.view.id, link: thumbnail.view.link, sha256: thumbnail.view.sha256 });
  const content: OutgoingContent = {
    kind: 'link_preview',
    chatId,
    quoted: input.quoted,
    mentions: input.mentions,
    body: input.body,
    title: input.title,
    description: input.description,
    canonical: input.canonical,
    thumbnail: thumbnail?.bytes ?? (input.preview ? Buffer.from(input.preview, 'base64') : undefined),
  };
  return contentOutgoing(input, chatId, content, 'link_preview', { link_preview: preview }, input);
}

type Action =
  | { kind: 'reaction'; emoji: string }
  | { kind: 'pin'; pin: boolean; time?: keyof typeof PIN_SECONDS }
  | { kind: 'star'; star: boolean }
  | { kind: 'read' }
  | { kind: 'delete' };

/** The engine's content of an action on `ref`. */
function actionContent(ref: MessageRef, action: Action, seconds: number): OutgoingContent {
  const base = { chatId: ref.chatId, target: ref };
  switch (action.kind) {
    case 'reaction':
      return { ...base, kind: 'reaction', emoji: action.emoji };
    case 'pin':
      return { ...base, kind: 'pin', pin: action.pin, seconds };
    case 'star':
      return { ...base, kind: 'star', star: action.star };
    case 'read':
    case 'delete':
      return { ...base, kind: action.kind };
  }
}

/** The target after the action, and the field that changed. */
function applied(before: Message, action: Action, at: number, seconds: number): { after: Message; change: string } {
  const after: Message = { ...before };
  switch (action.kind) {
    case 'reaction':
      // wagate keeps this channel's own reaction (one per account, as WhatsApp does).
      if (action.emoji) after.reactions = [{ emoji: action.emoji, t: at, count: 1 }];
      else delete after.reactions;
      return { after, change: 'reactions' };
    case 'pin':
      if (action.pin) after.pinned_until = at + seconds;
      else delete after.pinned_until;
      return { after, change: 'pinned_until' };
    case 'star':
      if (action.star) after.starred = true;
      else delete after.starred;
      return { after, change: 'starred' };
    case 'read':
      after.status = 'read';
      return { after, change: 'status' };
    case 'delete':
      after.status = 'deleted';
      return { after, change: 'status' };
  }
}

/**
 * A reaction, pin, star, read receipt or delete on a stored message: sent like any message
 * (status gate, send hold, Idempotency-Key), it changes the target and announces the change in
 * `messages.patch`. Marking a received message read takes it off its chat's unread count.
 */
export function actionOutgoing(request: unknown, target: StoredMessage, action: Action): Outgoing {
  const before = target.message as Message;
  const ref: MessageRef = { chatId: target.chatId, id: target.id, fromMe: target.fromMe, timestamp: target.timestamp };
  const seconds = action.kind === 'pin' ? PIN_SECONDS[action.time ?? 'week'] : 0;
  const content = actionContent(ref, action, seconds);
  return {
    request: { ...(request as object), target: target.id, action: action.kind },
    chatId: target.chatId,
    updates: target.id,
    send: (conn, id) => conn.sendContent({ ...content, id }),
    commit: (sent) => {
      const { after, change } = applied(before, action, sent.timestamp, seconds);
      const unreadDelta = action.kind === 'read' && !target.fromMe && before.status !== 'read' ? -1 : 0;
      return {
        message: after,
        unreadDelta,
        events: [{ name: 'messages.patch', payload: { messages_updates: [{ id: target.id, before_update: before, after_update: after, changes: [change] }] } }],
      };
    },
  };
}
