import { createHash } from 'node:crypto';
import type { EngineData, InboundContent } from '../engines/engine.js';
import { ApiError } from '@wagate/protocol';
import { isStoreFault } from '../store/errors.js';
import type { MediaRecord } from '../store/media.js';
import type { MediaService } from './service.js';
import { extensionOf } from './mime.js';

/**
 * A file that could not be had (refused by the guard, failed, over the cap, or failing the
 * engine's checks): the message is still recorded, as `unknown` (Whapi's media objects need a
 * stored file) with the caption and the reason in `media_error` (extension).
 */
function unavailable(c: Extract<InboundContent, { kind: 'media' }>, err: unknown): Record<string, unknown> & { type: string } {
  const detail = err instanceof ApiError ? (err.details ?? err.message) : err instanceof Error ? err.message : String(err);
  return { type: 'unknown', ...(c.caption && { text: { body: c.caption } }), media_error: { type: c.type, mime_type: c.mimeType, detail } };
}

/**
 * Turns an inbound message's content into the Message's fields before it is recorded: a file is
 * downloaded (decrypted by the engine), stored, and announced with Whapi's media object whose
 * `link` is this gateway's `GET /media/{MediaID}`, so a customer never talks to WhatsApp's CDN.
 * The file's id comes from the message's id, so a message that arrives twice stores one file.
 */
export async function prepareInbound(media: MediaService, channelId: string, data: EngineData): Promise<EngineData> {
  if (data.type !== 'message' || !data.message.content) return data;
  const fields = await contentFields(media, channelId, data.message.id, data.message.content);
  return { ...data, message: { ...data.message, fields } };
}

async function contentFields(media: MediaService, channelId: string, messageId: string, c: InboundContent): Promise<Record<string, unknown> & { type: string }> {
  switch (c.kind) {
    case 'location':
      return { type: 'location', location: { latitude: c.latitude, longitude: c.longitude, ...(c.name && { name: c.name }), ...(c.address && { address: c.address }) } };
    case 'contacts':
      return c.contacts.length === 1 ? { type: 'contact', contact: c.contacts[0] } : { type: 'contact_list', contact_list: { list: c.contacts } };
    case 'media': {
      const id = `${extensionOf(c.mimeType)}-${createHash('sha256').update(`${channelId}\u0000${messageId}`).digest('hex').slice(0, 32)}`;
      let record: MediaRecord;
      try {
        record = await media.saveAs(channelId, id, { bytes: await c.download(), mimeType: c.mimeType, fileName: c.fileName ?? null });
      } catch (err) {
        // A store that failed is retried as any write; a file that could not be had is reported.
        if (isStoreFault(err)) throw err;
        return unavailable(c, err);
      }
      const object: Record<string, unknown> = { ...media.view(record) };
      for (const key of ['caption', 'seconds', 'width', 'height'] as const) if (c[key] !== undefined) object[key] = c[key];
      return { type: c.type, [c.type]: object };
    }
  }
}
