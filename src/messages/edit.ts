import { errors, type Message, type SendText } from '@wagate/protocol';
import type { StoredMessage } from '../store/types.js';
import type { Outgoing } from './outgoing.js';

/**
 * `POST /messages/text` with `edit`: the new body replaces the text of a text message this
 * channel sent. The message keeps its id; `messages.patch` announces the change.
 */
export function editOutgoing(input: SendText & { edit: string }, original: StoredMessage | null): Outgoing {
  const before = original?.message as Message | undefined;
  if (!before) throw errors.notFound(`message ${input.edit} does not exist`);
  if (!before.from_me || before.type !== 'text') throw errors.badRequest('body.edit: only text messages this channel sent can be edited');
  const chatId = before.chat_id;
  return {
    request: input,
    chatId,
    updates: before.id,
    send: (conn, id) => conn.sendText({ id, chatId, body: input.body, mentions: input.mentions, linkPreview: !input.no_link_preview, edit: before.id }),
    commit: (sent) => {
      const after: Message = { ...before, text: { body: input.body }, edited_at: sent.timestamp };
      return {
        message: after,
        events: [{ name: 'messages.patch', payload: { messages_updates: [{ id: before.id, before_update: before, after_update: after, changes: ['text'] }] } }],
      };
    },
  };
}
