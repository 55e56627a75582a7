import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actionOutgoing } from '../../messages/content-outgoing.js';
import { requireReadable } from '../../messages/gate.js';
import { ErrorBody, MESSAGE_ID_PATTERN, PinMessage, ReactToMessage, StarMessage, Success, errors, type PIN_SECONDS } from '@wagate/protocol';

const tags = ['Messages'];
const params = Type.Object({ MessageID: Type.String({ pattern: MESSAGE_ID_PATTERN }) });
const headers = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) });
const responses = { 200: Success, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody };

/** Reactions, stars and pins on a stored message (Whapi's `/messages/{MessageID}/...`). */
export async function messageActionRoutes(app: FastifyInstance): Promise<void> {
  const { messages, store } = app.wagate;

  const act = async (req: FastifyRequest, action: Parameters<typeof actionOutgoing>[2]) => {
    const { MessageID } = req.params as { MessageID: string };
    requireReadable(req.channel);
    const target = await store.getMessage(req.channel.id, MessageID);
    if (!target) throw errors.notFound(`message ${MessageID} does not exist`);
    await messages.send(req.channel, actionOutgoing(req.body ?? {}, target, action), req.headers['idempotency-key'] as string | undefined);
    return { success: true };
  };

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
