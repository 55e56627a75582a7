import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireReadable } from '../../messages/gate.js';
import { CHAT_ID_PATTERN, Chat, ChatsList, ErrorBody, MESSAGE_ID_PATTERN, Message, MessagesList, SendText, SentMessage, errors } from '@wagate/protocol';
import type { ChatRecord, Store, StoredMessage } from '../../store/types.js';
import { editOutgoing } from '../../messages/edit.js';
import type { SendAnswer } from '../../messages/service.js';
import { formBody } from '../form-body.js';

const tags = ['Messages'];
const Paging = {
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
  token: Type.Optional(Type.String()),
};
/** The filters and paging of a message list. */
export const MessageFilters = {
  ...Paging,
  time_from: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  time_to: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  from_me: Type.Optional(Type.Boolean()),
  author: Type.Optional(Type.String({ pattern: '^\\d{7,15}(@s\\.whatsapp\\.net|@c\\.us)?$', description: "the sender's phone number (Contact ID)" })),
  sort: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
};
const readErrors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody };

/** The Idempotency-Key header every send takes. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) });

/** A send's Idempotency-Key, if the client gave one. */
export function idempotencyKey(req: FastifyRequest): string | undefined {
  return req.headers['idempotency-key'] as string | undefined;
}

/** Answers a send: its status and body, marked `idempotent-replayed` when a key's first answer is repeated. */
export function replySent(reply: FastifyReply, answer: SendAnswer): FastifyReply {
  if (answer.replayed) void reply.header('idempotent-replayed', 'true');
  return reply.status(answer.status as 200).send(answer.body);
}

function chatView(c: ChatRecord): Chat {
  const chat: Chat = { id: c.id, type: c.type, timestamp: c.timestamp, unread: c.unread };
  if (c.name) chat.name = c.name;
  if (c.lastMessage) chat.last_message = c.lastMessage as unknown as Message;
  return chat;
}

const messageOf = (m: StoredMessage): Message => m.message as unknown as Message;

/** A message list's query, after the schema's defaults. */
export interface MessageQuery {
  count: number;
  offset: number;
  time_from?: number;
  time_to?: number;
  from_me?: boolean;
  author?: string;
  sort?: 'asc' | 'desc';
}

/** One page of a channel's messages (or one chat's), newest first, as `GET /messages/list` answers. */
export async function messagePage(store: Store, channelId: string, q: MessageQuery, chatId?: string): Promise<Static<typeof MessagesList>> {
  const filter = { chatId, fromMe: q.from_me, timeFrom: q.time_from, timeTo: q.time_to, author: q.author?.replace(/@.*$/, ''), sort: q.sort };
  const { messages: rows, total } = await store.listMessages(channelId, filter, { count: q.count, offset: q.offset });
  return { messages: rows.map(messageOf), count: rows.length, total, offset: q.offset, first: q.offset };
}

/** `POST /messages/text` and the message and chat reads (SPEC §6). */
export async function messageRoutes(app: FastifyInstance): Promise<void> {
  const { messages, store, mediaMaxBytes } = app.wagate;

  app.post(
    '/messages/text',
    {
      schema: {
        tags,
        summary: 'Send a text message',
        headers: IdempotencyHeaders,
        body: SendText,
        consumes: ['application/json', 'multipart/form-data'],
        response: { 200: SentMessage, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
      },
      preValidation: formBody(SendText, mediaMaxBytes),
    },
    async (req, reply) => {
      const key = idempotencyKey(req);
      const body = req.body as SendText;
      const answer = body.edit
        ? await messages.send(req.channel, editOutgoing({ ...body, edit: body.edit }, await store.getMessage(req.channel.id, body.edit)), key)
        : await messages.sendText(req.channel, body, key);
      return replySent(reply, answer);
    },
  );

  const list = (channelId: string, q: MessageQuery, chatId?: string) => messagePage(store, channelId, q, chatId);

  app.get(
    '/messages/list',
    { schema: { tags, summary: 'Messages, newest first (oldest first with sort=asc)', querystring: Type.Object(MessageFilters), response: { 200: MessagesList, ...readErrors } } },
    async (req) => {
      requireReadable(req.channel);
      return list(req.channel.id, req.query as never);
    },
  );

  app.get(
    '/messages/list/:ChatID',
    {
      schema: {
        tags,
        summary: 'Messages of one chat, newest first',
        params: Type.Object({ ChatID: Type.String({ pattern: CHAT_ID_PATTERN }) }),
        querystring: Type.Object(MessageFilters),
        response: { 200: MessagesList, ...readErrors },
      },
    },
    async (req) => {
      requireReadable(req.channel);
      const { ChatID } = req.params as { ChatID: string };
      if (!(await store.getChat(req.channel.id, ChatID))) throw errors.notFound(`chat ${ChatID} does not exist`);
      return list(req.channel.id, req.query as never, ChatID);
    },
  );

  app.get(
    '/messages/:MessageID',
    {
      schema: {
        tags,
        summary: 'One message',
        params: Type.Object({ MessageID: Type.String({ pattern: MESSAGE_ID_PATTERN }) }),
        response: { 200: Message, ...readErrors },
      },
    },
    async (req) => {
      requireReadable(req.channel);
      const { MessageID } = req.params as { MessageID: string };
      const found = await store.getMessage(req.channel.id, MessageID);
      if (!found) throw errors.notFound(`message ${MessageID} does not exist`);
      return messageOf(found);
    },
  );

  app.get(
    '/chats',
    { schema: { tags: ['Chats'], summary: 'Chats, latest activity first', querystring: Type.Object(Paging), response: { 200: ChatsList, ...readErrors } } },
    async (req) => {
      requireReadable(req.channel);
      const { count, offset } = req.query as { count: number; offset: number };
      const { chats, total } = await store.listChats(req.channel.id, { count, offset });
      return { chats: chats.map(chatView), count: chats.length, total, offset };
    },
  );

  app.get(
    '/chats/:ChatID',
    {
      schema: {
        tags: ['Chats'],
        summary: 'One chat',
        params: Type.Object({ ChatID: Type.String({ pattern: CHAT_ID_PATTERN }) }),
        response: { 200: Chat, ...readErrors },
      },
    },
    async (req) => {
      requireReadable(req.channel);
      const { ChatID } = req.params as { ChatID: string };
      const chat = await store.getChat(req.channel.id, ChatID);
      if (!chat) throw errors.notFound(`chat ${ChatID} does not exist`);
      return chatView(chat);
    },
  );
}
