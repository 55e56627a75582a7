import type { EngineConnection, SentText } from '../engines/engine.js';
import { type ChannelEvent, type Message, type SendText } from '@wagate/protocol';

/** What the engine answered for a message that left (`pending` until WhatsApp's ack). */
export type Sent = SentText;

/**
 * One send, whatever it carries (text, media, a location, an edit): the message service runs
 * every kind through the same status gate, send hold and Idempotency-Key, and asks the kind only
 * how to send it and what it commits.
 */
export interface Outgoing {
  /** The request as the client sent it, hashed to tell a reused Idempotency-Key apart. */
  request: unknown;
  chatId: string;
  /** Set when the send changes a stored message (an edit, a reaction, a pin): no `sent` status of its own. */
  updates?: string;
  /** Sends on the live connection (under `resendId` when a lost connection took it unacknowledged); throws EngineClosedError when nothing left. */
  send(conn: EngineConnection, resendId?: string): Promise<Sent>;
  /**
   * The message stored and answered once it left, the events the send raises besides
   * `statuses.post`, and what it changes in its chat's unread count (a read receipt: -1).
   */
  commit(sent: Sent, from: string | undefined): { message: Message; events: ChannelEvent[]; unreadDelta?: number };
}

/** The `context` of a sent message with a quote or mentions. */
function sendContext(input: { quoted?: string; mentions?: string[] }): Message['context'] | undefined {
  return input.quoted || input.mentions ? { quoted_id: input.quoted, mentions: input.mentions } : undefined;
}

/** A message wagate sent, with the fields every kind shares. */
function sentMessage(chatId: string, sent: Sent, from: string | undefined, content: Partial<Message> & Pick<Message, 'type'>): Message {
  const { type, ...rest } = content;
  const message = { id: sent.id, type, chat_id: chatId, from, from_me: true, source: 'api', timestamp: sent.timestamp, status: sent.status, ...rest } as Message;
  if (!message.from) delete message.from;
  return message;
}

/**
 * The commit of a send that is a new message (text, media, a forward...): the message with its
 * content, and `context` when the request quoted or mentioned, announced in `messages.post`.
 */
export function postedMessage(chatId: string, content: Partial<Message> & Pick<Message, 'type'>, input: { quoted?: string; mentions?: string[] } = {}): Outgoing['commit'] {
  return (sent, from) => {
    const message = sentMessage(chatId, sent, from, content);
    const context = sendContext(input);
    if (context) message.context = context;
    return { message, events: [{ name: 'messages.post', payload: { messages: [message] } }] };
  };
}

/** `POST /messages/text` without `edit`. */
export function textOutgoing(input: SendText, chatId: string): Outgoing {
  return {
    request: input,
    chatId,
    send: (conn, id) => conn.sendText({ id, chatId, body: input.body, quoted: input.quoted, mentions: input.mentions, linkPreview: !input.no_link_preview }),
    commit: postedMessage(chatId, { type: 'text', text: { body: input.body } }, input),
  };
}
