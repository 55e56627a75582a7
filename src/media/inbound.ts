import { createHash } from 'node:crypto';
import type { EngineData, InboundContent } from '../engines/engine.js';
import type { MediaRecord } from '../store/media.js';
import type { MediaService } from './service.js';
import { extensionOf } from './mime.js';

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
      const bytes = await c.download();
      const id = `${extensionOf(c.mimeType)}-${createHash('sha256').update(`${channelId}\u0000${messageId}`).digest('hex').slice(0, 32)}`;
      const record: MediaRecord = await media.saveAs(channelId, id, { bytes, mimeType: c.mimeType, fileName: c.fileName ?? null });
      const object: Record<string, unknown> = { ...media.view(record) };
      for (const key of ['caption', 'seconds', 'width', 'height'] as const) if (c[key] !== undefined) object[key] = c[key];
      return { type: c.type, [c.type]: object };
    }
  }
}
