import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { canSend } from '../../messages/gate.js';
import { ErrorBody, MEDIA_ID_PATTERN, MediaFiles, Success, UploadMediaResponse, errors } from '@wagate/protocol';
import { formBody } from '../form-body.js';

const tags = ['Media'];
const MediaParams = Type.Object({ MediaID: Type.String({ pattern: MEDIA_ID_PATTERN }) });
const UploadJson = Type.Object(
  { media: Type.String({ minLength: 1 }), mime_type: Type.Optional(Type.String({ maxLength: 255 })), file_name: Type.Optional(Type.String({ maxLength: 255 })), no_encode: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

/**
 * Accepts any body type as bytes, for the routes of this plugin only: Whapi's uploads send the
 * file itself with its own content type (`image/jpeg`, `application/pdf`...).
 */
export function acceptRawBodies(app: FastifyInstance, maxBytes: number): void {
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
}

/** JSON bodies carrying base64 media are 4/3 of the file, plus the other fields. */
export function mediaBodyLimit(maxBytes: number): number {
  return Math.ceil((maxBytes * 4) / 3) + 64 * 1024;
}

/** `POST /media`, `GET /media`, `GET /media/{MediaID}`, `DELETE /media/{MediaID}` (SPEC §6, media store). */
export async function mediaRoutes(app: FastifyInstance): Promise<void> {
  const { media, mediaMaxBytes } = app.wagate;
  acceptRawBodies(app, mediaMaxBytes);

  app.post(
    '/media',
    {
      bodyLimit: mediaBodyLimit(mediaMaxBytes),
      schema: {
        tags,
        summary: 'Upload a file: the body itself (its content type), multipart, or JSON {media}',
        consumes: ['application/octet-stream', 'image/jpeg', 'image/png', 'application/pdf', 'multipart/form-data', 'application/json'],
        response: { 200: UploadMediaResponse, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
      preValidation: formBody(UploadJson, mediaMaxBytes),
    },
    async (req) => {
      if (!canSend(req.channel.state)) throw errors.needAuthorization(`channel status is ${req.channel.state.status}`);
      const fileName = (req.headers['x-file-name'] as string | undefined) ?? null;
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      let record;
      if (Buffer.isBuffer(req.body)) {
        if (type === '') throw errors.unsupportedMediaType('send the file with its content type (image/jpeg, application/pdf...)');
        record = await media.save(req.channel.id, { bytes: req.body, mimeType: type === 'application/octet-stream' ? null : type, fileName });
      } else {
        const body = req.body as { media?: unknown; mime_type?: string; file_name?: string };
        // A form's file part may have any field name (`file`, `media`...).
        const value = typeof body.media === 'string' ? body.media : req.formFile ? 'form-file:' : null;
        if (value === null) throw errors.badRequest('body.media: missing required field "media" (a URL, a data: URL or a file part)');
        const input = { value, formFile: req.formFile, mimeType: body.mime_type, fileName: body.file_name, fallbackMime: 'application/octet-stream' };
        ({ record } = await media.resolve(req.channel.id, input));
      }
      return { media: [{ id: record.id }] };
    },
  );

  app.get(
    '/media',
    {
      schema: {
        tags,
        summary: 'Stored files, newest first (oldest first with sort=asc)',
        querystring: Type.Object({
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
          time_from: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'unix seconds' })),
          time_to: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'unix seconds' })),
          sort: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
          token: Type.Optional(Type.String()),
        }),
        response: { 200: MediaFiles, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as { count: number; offset: number; time_from?: number; time_to?: number; sort: 'asc' | 'desc' };
      const filter = { timeFrom: q.time_from === undefined ? undefined : q.time_from * 1000, timeTo: q.time_to === undefined ? undefined : q.time_to * 1000 + 999, sort: q.sort };
      const { media: rows, total } = await media.list(req.channel.id, filter, { count: q.count, offset: q.offset });
      return { files: rows.map((r) => media.view(r)), count: rows.length, total, offset: q.offset };
    },
  );

  app.get(
    '/media/:MediaID',
    { schema: { tags, summary: 'Download a stored file, with its content type', params: MediaParams, response: { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody } } },
    async (req, reply) => {
      const { record, bytes } = await media.download(req.channel.id, (req.params as { MediaID: string }).MediaID);
      void reply.type(record.mimeType).header('content-length', bytes.length).header('x-content-type-options', 'nosniff');
      void reply.header('content-disposition', `inline; filename="${(record.fileName ?? record.id).replace(/["\\\r\n]/g, '_')}"`);
      return reply.send(bytes);
    },
  );

  app.delete(
    '/media/:MediaID',
    { schema: { tags, summary: 'Delete a stored file', params: MediaParams, response: { 200: Success, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody } } },
    async (req) => {
      await media.delete(req.channel.id, (req.params as { MediaID: string }).MediaID);
      return { success: true };
    },
  );
}
