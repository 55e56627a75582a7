import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

// WhatsApp's media encryption, written here from its description and not taken from Baileys, so
// that the emulated phone checks Baileys' uploads independently: a random 32-byte media key,
// expanded by HKDF-SHA256 (no salt, info "WhatsApp <Kind> Keys") to 112 bytes: IV (16), AES-256
// key (32), HMAC key (32). The file is AES-256-CBC with PKCS#7 padding, followed by the first 10
// bytes of HMAC-SHA256(iv ‖ ciphertext).

/** The HKDF info word of each media kind, as WhatsApp names them. */
const KIND_WORD = { image: 'Image', video: 'Video', audio: 'Audio', document: 'Document', sticker: 'Image' } as const;
export type MediaCryptoKind = keyof typeof KIND_WORD;

const MAC_BYTES = 10;

function keys(mediaKey: Uint8Array, kind: MediaCryptoKind): { iv: Buffer; cipherKey: Buffer; macKey: Buffer } {
  const expanded = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), `WhatsApp ${KIND_WORD[kind]} Keys`, 112));
  return { iv: expanded.subarray(0, 16), cipherKey: expanded.subarray(16, 48), macKey: expanded.subarray(48, 80) };
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** An encrypted file and what a media message says of it. */
export interface EncryptedMedia {
  mediaKey: Buffer;
  /** ciphertext ‖ mac: what the media host stores. */
  enc: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  fileLength: number;
}

/** Encrypts `plain` as a phone does before it uploads it. */
export function encryptMedia(plain: Buffer, kind: MediaCryptoKind): EncryptedMedia {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = keys(mediaKey, kind);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_BYTES);
  const enc = Buffer.concat([ciphertext, mac]);
  return { mediaKey, enc, fileSha256: sha256(plain), fileEncSha256: sha256(enc), fileLength: plain.length };
}

/**
 * Checks and decrypts a downloaded file as a phone does: the hash of the encrypted file, its MAC,
 * then the plaintext's hash and length. Throws naming the first check that failed.
 */
export function decryptMedia(enc: Buffer, kind: MediaCryptoKind, expect: { mediaKey: Uint8Array; fileSha256: Uint8Array; fileEncSha256: Uint8Array; fileLength?: number }): Buffer {
  if (!sha256(enc).equals(Buffer.from(expect.fileEncSha256))) throw new Error('fileEncSha256 does not match the downloaded file');
  const { iv, cipherKey, macKey } = keys(expect.mediaKey, kind);
  const ciphertext = enc.subarray(0, enc.length - MAC_BYTES);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_BYTES);
  if (!timingSafeEqual(mac, enc.subarray(enc.length - MAC_BYTES))) throw new Error('the media MAC does not match');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  if (!sha256(plain).equals(Buffer.from(expect.fileSha256))) throw new Error('fileSha256 does not match the decrypted file');
  if (expect.fileLength !== undefined && plain.length !== expect.fileLength) throw new Error(`fileLength ${expect.fileLength} but ${plain.length} bytes decrypted`);
  return plain;
}
