import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actionOutgoing } from '../../messages/content-outgoing.js';
import { requireReadable } from '../../messages/gate.js';
import { forwardedFileId, forwardOutgoing } from '../../messages/forward.js';
import { ErrorBody, ForwardMessage, MESSAGE_ID_PATTERN, PinMessage, ReactToMessage, SentMessage, StarMessage, Success, errors, normaliseChatId, type PIN_SECONDS } from '@wagate/protocol';
import type { StoredMessage } from '../../store/types.js';
import { IdempotencyHeaders, idempotencyKey, replySent } from './messages.js';

const tags = ['Messages'];
const params = Type.Object({ MessageID: Type.String({ pattern: MESSAGE_ID_PATTERN }) });
const headers = IdempotencyHeaders;
const responses = { 200: Success, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody };

/** Forwards, read receipts, deletes, reactions, stars and pins of a stored message (Whapi's `/messages/{MessageID}...`). */
export async function messageActionRoutes(app: FastifyInstance): Promise<void> {
  const { messages, store, media } = app.wagate;

  const targetOf = async (req: FastifyRequest): Promise<StoredMessage> => {
    const { MessageID } = req.params as { MessageID: string };
    requireReadable(req.channel);
    const target = await store.getMessage(req.channel.id, MessageID);
    if (!target) throw errors.notFound(`message ${MessageID} does not exist`);
    return target;
  };

  const act = async (req: FastifyRequest, action: Parameters<typeof actionOutgoing>[2]) => {
    const target = await targetOf(req);
    if (action.kind === 'read' && target.fromMe) throw errors.badRequest(`message ${target.id} was sent by this channel: only received messages are marked read`);
    await messages.send(req.channel, actionOutgoing(req.body ?? {}, target, action), idempotencyKey(req));
    return { success: true };
  };

  app.post(
    '/messages/:MessageID',
    { schema: { tags, summary: 'Forward a message to a chat (its file re-sent from the media store)', params, headers, body: ForwardMessage, response: { ...responses, 200: SentMessage } } },
    async (req, reply) => {
      const target = await targetOf(req);
      const input = req.body as ForwardMessage;
      const fileId = forwardedFileId(target);
      const file = fileId ? (await media.download(req.channel.id, fileId).catch(() => null))?.bytes : undefined;
      return replySent(reply, await messages.send(req.channel, forwardOutgoing(input, target, normaliseChatId(input.to), file), idempotencyKey(req)));
    },
  );
  app.put(
    '/messages/:MessageID',
    { schema: { tags, summary: 'Mark a received message as read (a read receipt to its sender)', params, headers, response: responses } },
    async (req) => act(req, { kind: 'read' }),
  );
  app.delete(
    '/messages/:MessageID',
    { schema: { tags, summary: 'Delete a message: one this channel sent is revoked for everyone, another is deleted on this device', params, headers, response: responses } },
    async (req) => act(req, { kind: 'delete' }),
  );

  app.put(
    '/messages/:MessageID/reaction',
    { schema: { tags, summary: 'React to a message (an empty emoji removes the reaction)', params, headers, body: ReactToMessage, response: responses } },
    async (req) => act(req, { kind: 'reaction', emoji: (req.body as { emoji?: string }).emoji ?? '' }),
  );
  app.delete(
    '/messages/:MessageID/reaction',
    { schema: { tags, summary: 'Remove the reaction from a message', params, headers, response: responses } },
    async (req) => act(req, { kind: 'reaction', emoji: '' }),
  );
  app.put(
    '/messages/:MessageID/star',
    { schema: { tags, summary: 'Star or unstar a message', params, headers, body: StarMessage, response: responses } },
    async (req) => act(req, { kind: 'star', star: (req.body as { starred: boolean }).starred }),
  );
  app.post(
    '/messages/:MessageID/pin',
    { schema: { tags, summary: 'Pin a message in its chat for a day, a week or a month', params, headers, body: PinMessage, response: responses } },
    async (req) => act(req, { kind: 'pin', pin: true, time: (req.body as { time: keyof typeof PIN_SECONDS }).time }),
  );
  app.delete(
    '/messages/:MessageID/pin',
    { schema: { tags, summary: 'Unpin a message', params, headers, response: responses } },
    async (req) => act(req, { kind: 'pin', pin: false }),
  );
}
