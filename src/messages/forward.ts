import type { OutgoingContent } from '../engines/engine.js';
import { MEDIA_KINDS, errors, type MediaKind, type Message, type MessageMedia } from '@wagate/protocol';
import type { StoredMessage } from '../store/types.js';
import { postedMessage, type Outgoing } from './outgoing.js';

/** The kinds a stored message can be forwarded as. */
const FORWARDABLE = ['text', ...MEDIA_KINDS, 'location', 'contact', 'contact_list'] as const;

/** The media id a stored media message links to, or null for other kinds (the route reads the file). */
export function forwardedFileId(target: StoredMessage): string | null {
  const m = target.message as Message;
  return (MEDIA_KINDS as readonly string[]).includes(m.type) ? ((m[m.type as MediaKind] as MessageMedia | undefined)?.id ?? null) : null;
}

/**
 * `POST /messages/{MessageID}`: the stored message sent again to `chatId` as a forward (WhatsApp
 * shows it labelled forwarded). Its content is re-sent from the store, a file from the media store
 * (`file`), so a message can be forwarded after a restart too; 400 for kinds wagate cannot send.
 */
export function forwardOutgoing(request: { to: string }, target: StoredMessage, chatId: string, file?: Buffer): Outgoing {
  const m = target.message as Message;
  if (!(FORWARDABLE as readonly string[]).includes(m.type)) throw errors.badRequest(`message ${target.id} is a ${m.type} message: wagate forwards ${FORWARDABLE.join(', ')}`);
  const field: Partial<Message> = { [m.type]: m[m.type as keyof Message] };
  let content: OutgoingContent | null = null;
  if (m.type === 'location' && m.location) content = { kind: 'location', chatId, ...m.location };
  if (m.type === 'contact' && m.contact) content = { kind: 'contacts', chatId, contacts: [m.contact] };
  if (m.type === 'contact_list' && m.contact_list) content = { kind: 'contacts', chatId, contacts: m.contact_list.list };
  const media = m[m.type as MediaKind] as MessageMedia | undefined;
  if ((MEDIA_KINDS as readonly string[]).includes(m.type) && media) {
    if (!file) throw errors.notFound(`the file of message ${target.id} is no longer stored`);
    content = {
      kind: 'media',
      chatId,
      type: m.type as MediaKind,
      file: { bytes: file, mimeType: media.mime_type, fileName: media.file_name },
      caption: media.caption,
      width: media.width,
      height: media.height,
      seconds: media.seconds,
    };
  }
  const body = m.text?.body;
  if (!content && body === undefined) throw errors.badRequest(`message ${target.id} has no content to forward`);
  return {
    request: { ...request, forward: target.id },
    chatId,
    send: (conn, id) =>
      content ? conn.sendContent({ ...content, id, forwarded: true }) : conn.sendText({ id, chatId, body: body!, linkPreview: false, forwarded: true }),
    commit: postedMessage(chatId, { type: m.type, ...field, context: { forwarded: true, forwarding_score: 1 } }),
  };
}
