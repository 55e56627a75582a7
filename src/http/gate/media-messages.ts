import type { TObject } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { contactListOutgoing, contactOutgoing, linkPreviewOutgoing, locationOutgoing, mediaOutgoing } from '../../messages/content-outgoing.js';
import type { Outgoing } from '../../messages/outgoing.js';
import {
  ErrorBody,
  MEDIA_KINDS,
  MEDIA_SEND_SCHEMAS,
  MediaMessageTypeParams,
  MediaSendQuery,
  SendContact,
  SendContactList,
  SendLinkPreview,
  SendLocation,
  SentMessage,
  errors,
  normaliseChatId,
  type MediaKind,
  type SendMedia,
} from '@wagate/protocol';
import { formBody } from '../form-body.js';
import { acceptRawBodies, mediaBodyLimit } from './media.js';
import { IdempotencyHeaders, idempotencyKey, replySent } from './messages.js';

const tags = ['Messages'];
const responses = { 200: SentMessage, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 502: ErrorBody };

/** The MIME type a kind gets when neither the request nor the source names one. */
const FALLBACK_MIME: Record<MediaKind, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  short: 'video/mp4',
  gif: 'video/mp4',
  audio: 'audio/mpeg',
  voice: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/** Whapi's media and rich sends (SPEC §6): every one through the same gate, hold and Idempotency-Key as text. */
export async function mediaMessageRoutes(app: FastifyInstance): Promise<void> {
  const { messages, media, mediaMaxBytes } = app.wagate;
  acceptRawBodies(app, mediaMaxBytes);
  const send = async (req: FastifyRequest, reply: FastifyReply, outgoing: Outgoing) => replySent(reply, await messages.send(req.channel, outgoing, idempotencyKey(req)));

  const sendMedia = async (req: FastifyRequest, reply: FastifyReply, kind: MediaKind, input: SendMedia) => {
    messages.refuseUnsendable(req.channel);
    const chatId = normaliseChatId(input.to);
    const source = { value: input.media, formFile: req.formFile, mimeType: input.mime_type, fileName: input.filename, fallbackMime: FALLBACK_MIME[kind] };
    const { record, bytes } = await media.resolve(req.channel.id, source);
    return send(req, reply, mediaOutgoing(kind, input, chatId, { bytes, view: media.view(record) }, record.sha256));
  };

  for (const kind of MEDIA_KINDS) {
    const schema = MEDIA_SEND_SCHEMAS[kind];
    app.post(
      `/messages/${kind}`,
      {
        bodyLimit: mediaBodyLimit(mediaMaxBytes),
        schema: { tags, summary: `Send ${kind === 'image' ? 'an' : 'a'} ${kind} message`, headers: IdempotencyHeaders, body: schema, consumes: ['application/json', 'multipart/form-data'], response: responses },
        preValidation: formBody(schema, mediaMaxBytes),
      },
      async (req, reply) => sendMedia(req, reply, kind, req.body as SendMedia),
    );
  }

  app.post(
    '/messages/media/:MediaMessageType',
    {
      bodyLimit: mediaMaxBytes,
      schema: { tags, summary: 'Send a media message: the file is the body, the fields are the query', headers: IdempotencyHeaders, params: MediaMessageTypeParams, querystring: MediaSendQuery, response: responses },
    },
    async (req, reply) => {
      const { MediaMessageType: kind } = req.params as { MediaMessageType: MediaKind };
      const { token: _token, ...query } = req.query as SendMedia & { token?: string };
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!Buffer.isBuffer(req.body)) throw errors.badRequest('send the file as the request body, with its content type, and the fields in the query');
      req.formFile = { bytes: req.body, mimeType: type && type !== 'application/octet-stream' ? type : FALLBACK_MIME[kind], fileName: query.filename };
      return sendMedia(req, reply, kind, { ...query, media: `form-file:${query.filename ?? ''}` });
    },
  );

  const simple = <T>(path: string, summary: string, schema: TObject, build: (input: T, chatId: string) => Outgoing) =>
    app.post(
      path,
      { schema: { tags, summary, headers: IdempotencyHeaders, body: schema, consumes: ['application/json', 'multipart/form-data'], response: responses }, preValidation: formBody(schema, mediaMaxBytes) },
      async (req, reply) => {
        const input = req.body as T & { to: string };
        return send(req, reply, build(input, normaliseChatId(input.to)));
      },
    );
  simple('/messages/location', 'Send a location', SendLocation, locationOutgoing);
  simple('/messages/contact', 'Send a contact (vCard)', SendContact, contactOutgoing);
  simple('/messages/contact_list', 'Send several contacts', SendContactList, contactListOutgoing);

  app.post(
    '/messages/link_preview',
    {
      bodyLimit: mediaBodyLimit(mediaMaxBytes),
      schema: { tags, summary: 'Send a link with a custom preview', headers: IdempotencyHeaders, body: SendLinkPreview, consumes: ['application/json', 'multipart/form-data'], response: responses },
      preValidation: formBody(SendLinkPreview, mediaMaxBytes),
    },
    async (req, reply) => {
      const input = req.body as typeof SendLinkPreview.static;
      messages.refuseUnsendable(req.channel);
      const thumbnail = input.media
        ? await media.resolve(req.channel.id, { value: input.media, formFile: req.formFile, mimeType: input.mime_type, fallbackMime: 'image/jpeg' })
        : undefined;
      return send(req, reply, linkPreviewOutgoing(input, normaliseChatId(input.to), thumbnail && { bytes: thumbnail.bytes, view: media.view(thumbnail.record) }));
    },
  );
}
