import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { getMediaKeys, getUrlFromDirectPath, normalizeMessageContent, toNumber, type MediaType, type proto } from 'baileys';
import type { MediaKind } from '@wagate/protocol';
import type { InboundContent } from '../engine.js';

/**
 * Fetches a WhatsApp media URL (the encrypted file) through the gateway's SSRF guard, with its
 * size cap and timeout; throws when refused or failed.
 */
export type MediaDownload = (url: string) => Promise<Buffer>;

type FileMessage = proto.Message.IImageMessage & proto.Message.IVideoMessage & proto.Message.IAudioMessage & proto.Message.IDocumentMessage & proto.Message.IStickerMessage;

/** The media fields of a message: wagate's kind, and the HKDF kind of its keys. */
function fileOf(content: proto.IMessage): { kind: MediaKind; keys: MediaType; file: FileMessage } | null {
  if (content.imageMessage) return { kind: 'image', keys: 'image', file: content.imageMessage };
  if (content.videoMessage) return { kind: content.videoMessage.gifPlayback ? 'gif' : 'video', keys: 'video', file: content.videoMessage };
  if (content.ptvMessage) return { kind: 'short', keys: 'video', file: content.ptvMessage };
  if (content.audioMessage) return { kind: content.audioMessage.ptt ? 'voice' : 'audio', keys: 'audio', file: content.audioMessage };
  if (content.documentMessage) return { kind: 'document', keys: 'document', file: content.documentMessage };
  if (content.stickerMessage) return { kind: 'sticker', keys: 'sticker', file: content.stickerMessage };
  return null;
}

/**
 * What a message carries besides text, as wagate reports it: a file (downloaded on demand through
 * `download`), a location or contacts; null for anything else (reactions, protocol messages...).
 */
export function inboundContentOf(message: proto.IMessage | null | undefined, download: MediaDownload): InboundContent | null {
  const content = normalizeMessageContent(message);
  if (!content) return null;
  const media = fileOf(content);
  if (media) {
    const { kind, keys, file } = media;
    const out: InboundContent = { kind: 'media', type: kind, mimeType: file.mimetype || 'application/octet-stream', download: () => fetchFile(file, keys, download) };
    if (file.fileName) out.fileName = file.fileName;
    if (file.caption) out.caption = file.caption;
    if (file.seconds) out.seconds = file.seconds;
    if (file.width) out.width = file.width;
    if (file.height) out.height = file.height;
    return out;
  }
  const loc = content.locationMessage;
  if (loc && typeof loc.degreesLatitude === 'number' && typeof loc.degreesLongitude === 'number') {
    return { kind: 'location', latitude: loc.degreesLatitude, longitude: loc.degreesLongitude, ...(loc.name && { name: loc.name }), ...(loc.address && { address: loc.address }) };
  }
  const cards = content.contactMessage ? [content.contactMessage] : (content.contactsArrayMessage?.contacts ?? []);
  const contacts = cards.filter((c) => c.vcard).map((c) => ({ name: c.displayName ?? '', vcard: c.vcard! }));
  return contacts.length ? { kind: 'contacts', contacts } : null;
}

const MAC_BYTES = 10;
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/**
 * Downloads and decrypts a message's file. Its URL is built as Baileys builds it (the direct
 * path on the host the message's url names). Unlike Baileys' `downloadMediaMessage`, every check
 * WhatsApp defines is made: the encrypted file's hash, its MAC, and the plaintext's hash, which
 * the sender put in the end-to-end encrypted message, so a tampered or swapped file is refused.
 */
async function fetchFile(file: FileMessage, keys: MediaType, download: MediaDownload): Promise<Buffer> {
  if (!file.mediaKey || !file.fileSha256) throw new Error('the media message has no media key or file hash');
  const host = file.url ? hostOf(file.url) : undefined;
  const url = file.directPath ? getUrlFromDirectPath(file.directPath, host) : file.url;
  if (!url) throw new Error('the media message has no url or direct path');
  const enc = await download(url);
  if (enc.length <= MAC_BYTES) throw new Error('the media file is too short');
  if (file.fileEncSha256?.length && !sha256(enc).equals(Buffer.from(file.fileEncSha256))) throw new Error('the media file does not match its fileEncSha256');
  const { iv, cipherKey, macKey } = await getMediaKeys(file.mediaKey, keys);
  if (!macKey) throw new Error('no MAC key for this media kind');
  const ciphertext = enc.subarray(0, enc.length - MAC_BYTES);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_BYTES);
  if (!timingSafeEqual(mac, enc.subarray(enc.length - MAC_BYTES))) throw new Error('the media file fails its MAC');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  if (!sha256(plain).equals(Buffer.from(file.fileSha256))) throw new Error('the decrypted media does not match its fileSha256');
  const length = file.fileLength === null || file.fileLength === undefined ? null : toNumber(file.fileLength);
  if (length !== null && length !== plain.length) throw new Error(`the media message says ${length} bytes, the file has ${plain.length}`);
  return plain;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
