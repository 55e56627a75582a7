import { Type, type Static } from '@sinclair/typebox';
import { MAX_TEXT_BODY, MEDIA_KINDS, VCard, errors, type MediaKind } from '@wagate/protocol';
import type { InboundContent } from '../engine.js';

/** The body of `POST /sandbox/inbound`: text, or a file (base64 or a data: URL), a location, contacts. */
export const SandboxInbound = Type.Object(
  {
    from: Type.String({ pattern: '^\\d{7,15}$' }),
    name: Type.Optional(Type.String({ maxLength: 100 })),
    body: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TEXT_BODY })),
    type: Type.Optional(Type.Union([...MEDIA_KINDS, 'location', 'contact'].map((t) => Type.Literal(t)))),
    media: Type.Optional(Type.String({ minLength: 1, description: 'the file: base64, or a data: URL' })),
    mime_type: Type.Optional(Type.String({ pattern: '^[\\w.+-]+/[\\w.+-]+$', maxLength: 255 })),
    file_name: Type.Optional(Type.String({ maxLength: 255 })),
    caption: Type.Optional(Type.String({ maxLength: MAX_TEXT_BODY })),
    location: Type.Optional(Type.Object({ latitude: Type.Number({ minimum: -90, maximum: 90 }), longitude: Type.Number({ minimum: -180, maximum: 180 }), name: Type.Optional(Type.String()), address: Type.Optional(Type.String()) })),
    contact: Type.Optional(VCard),
  },
  { additionalProperties: false },
);
export type SandboxInbound = Static<typeof SandboxInbound>;

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w-]+=[^;,]*)*;base64,/;

/** What the simulated phone sends for an inbound body; 400 when the body does not say one thing. */
export function sandboxInboundContent(body: SandboxInbound): { text: string; content?: InboundContent } {
  const type = body.type ?? (body.media ? 'image' : body.location ? 'location' : body.contact ? 'contact' : 'text');
  if (type === 'text') {
    if (!body.body) throw errors.badRequest('body.body: a text message needs a body (or give type and media, location or contact)');
    return { text: body.body };
  }
  if (type === 'location') {
    if (!body.location) throw errors.badRequest('body.location: missing for type location');
    return { text: '', content: { kind: 'location', ...body.location } };
  }
  if (type === 'contact') {
    if (!body.contact) throw errors.badRequest('body.contact: missing for type contact');
    return { text: '', content: { kind: 'contacts', contacts: [body.contact] } };
  }
  if (!body.media) throw errors.badRequest(`body.media: missing for type ${type}`);
  const head = DATA_URL.exec(body.media);
  const base64 = head ? body.media.slice(head[0].length) : body.media;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(base64)) throw errors.badRequest('body.media: not base64 (or a base64 data: URL)');
  const bytes = Buffer.from(base64, 'base64');
  const mimeType = body.mime_type ?? head?.[1] ?? 'application/octet-stream';
  const content: InboundContent = { kind: 'media', type: type as MediaKind, mimeType, download: async () => bytes };
  if (body.file_name) content.fileName = body.file_name;
  if (body.caption) content.caption = body.caption;
  return { text: body.caption ?? '', content };
}
