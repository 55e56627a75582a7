import { toNumber, type proto } from 'baileys';
import { decryptMedia, encryptMedia, type MediaCryptoKind } from './media-crypto.js';
import type { MediaHost } from './media-host.js';

/** The media fields of a message, by the message field that carries them. */
const FIELDS = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const satisfies Partial<Record<keyof proto.IMessage, MediaCryptoKind>>;
type MediaField = keyof typeof FIELDS;

/** A file a phone received in a media message, downloaded and decrypted. */
export interface ReceivedMedia {
  field: MediaField;
  bytes: Buffer;
  mimetype: string;
  fileName?: string;
  caption?: string;
}

/**
 * What a recipient's phone does with a media message: finds the file on the media host by its
 * direct path (the message's url must name that host), checks and decrypts it. Null for a message
 * without media; throws when the file is missing or a check fails.
 */
export function receiveMedia(host: MediaHost, message: proto.IMessage): ReceivedMedia | null {
  const field = (Object.keys(FIELDS) as MediaField[]).find((f) => message[f]);
  const m = field && message[field];
  if (!field || !m) return null;
  if (!m.url || new URL(m.url).host !== host.hostname) throw new Error(`the ${field} url ${m.url} is not on the media host`);
  const file = m.directPath ? host.files.get(m.directPath.split('?')[0]!) : undefined;
  if (!file) throw new Error(`the ${field} direct path ${m.directPath} is not on the media host`);
  if (!m.mediaKey || !m.fileSha256 || !m.fileEncSha256) throw new Error(`the ${field} lacks its media key or hashes`);
  const bytes = decryptMedia(file.bytes, FIELDS[field], {
    mediaKey: m.mediaKey,
    fileSha256: m.fileSha256,
    fileEncSha256: m.fileEncSha256,
    fileLength: m.fileLength === undefined || m.fileLength === null ? undefined : toNumber(m.fileLength),
  });
  const out: ReceivedMedia = { field, bytes, mimetype: m.mimetype ?? '' };
  if ('fileName' in m && m.fileName) out.fileName = m.fileName;
  if ('caption' in m && m.caption) out.caption = m.caption;
  return out;
}

/** What a phone sends: an image or a document, encrypted and put on the media host first. */
export function mediaMessage(
  host: MediaHost,
  file: { kind: 'image' | 'document'; bytes: Buffer; mimetype: string; caption?: string; fileName?: string },
): proto.IMessage {
  const enc = encryptMedia(file.bytes, file.kind);
  const hosted = host.put(file.kind, enc.enc);
  const common = {
    url: `${host.urlOf(hosted.directPath)}?ccb=11-4&oh=emulator`,
    directPath: `${hosted.directPath}?ccb=11-4&oh=emulator`,
    mediaKey: enc.mediaKey,
    fileSha256: enc.fileSha256,
    fileEncSha256: enc.fileEncSha256,
    fileLength: enc.fileLength,
    mimetype: file.mimetype,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    ...(file.caption && { caption: file.caption }),
  };
  return file.kind === 'image' ? { imageMessage: common } : { documentMessage: { ...common, fileName: file.fileName ?? 'file' } };
}
