import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptMedia } from '../../../test/emulator/media-crypto.js';
import { inboundContentOf } from './media.js';

const photo = Buffer.from('an image, as the phone took it'.repeat(40));

/** An image message for `photo` and its encrypted file. */
function imageOf(overrides: Record<string, unknown> = {}) {
  const enc = encryptMedia(photo, 'image');
  const message = {
    imageMessage: {
      url: 'https://mmg.example.net/v/t62/abc.enc?ccb=1',
      directPath: '/v/t62/abc.enc?ccb=1',
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mimetype: 'image/jpeg',
      ...overrides,
    },
  };
  return { message, enc };
}

async function download(message: object, serve: (url: string) => Buffer): Promise<Buffer> {
  const content = inboundContentOf(message, async (url) => serve(url));
  if (content?.kind !== 'media') throw new Error('not media');
  return content.download();
}

describe('inbound media of a baileys channel', () => {
  it('fetches the direct path on the host the url names, checks and decrypts the file', async () => {
    const { message, enc } = imageOf();
    const asked: string[] = [];
    const bytes = await download(message, (url) => (asked.push(url), enc.enc));
    expect(bytes.equals(photo)).toBe(true);
    expect(asked).toEqual(['https://mmg.example.net/v/t62/abc.enc?ccb=1']);
  });

  it('refuses a file whose MAC fails, one changed on the way, one swapped for another, and a wrong length', async () => {
    const { message, enc } = imageOf();
    const flipped = Buffer.from(enc.enc);
    flipped[5]! ^= 1;
    await expect(download(message, () => flipped)).rejects.toThrow(/fileEncSha256/);
    // With the hash of the changed file in the message, the MAC is what catches it.
    const rehashed = { imageMessage: { ...message.imageMessage, fileEncSha256: createHash('sha256').update(flipped).digest() } };
    await expect(download(rehashed, () => flipped)).rejects.toThrow(/MAC/);
    // Another file under its own key and hashes: only the plaintext's hash, sent end to end, tells.
    const other = encryptMedia(Buffer.from('another picture'), 'image');
    const swapped = { imageMessage: { ...message.imageMessage, mediaKey: other.mediaKey, fileEncSha256: other.fileEncSha256 } };
    await expect(download(swapped, () => other.enc)).rejects.toThrow(/fileSha256/);
    const short = imageOf({ fileLength: 3 });
    await expect(download(short.message, () => short.enc.enc)).rejects.toThrow(/says 3 bytes/);
  });

  it('refuses a media message without a key or a place', async () => {
    await expect(download({ imageMessage: { mimetype: 'image/png', url: 'https://x/y' } }, () => Buffer.alloc(0))).rejects.toThrow(/media key/);
    const { message } = imageOf({ url: null, directPath: null });
    await expect(download(message, () => Buffer.alloc(0))).rejects.toThrow(/no url/);
  });
});
