import { describe, expect, it } from 'vitest';
import { fakeImage, sha256 } from '../media/fixtures.js';
import { whapiValidator } from '../support/whapi.js';
import { decrypted, pairedSetups, recorded } from './harness.js';
import { mediaMessage } from './phone-media.js';

// Media through the real Baileys client: it asks the emulator for media_conn, encrypts and uploads
// to the emulated media host (HTTPS on loopback), and the recipient's emulated phone downloads,
// checks and decrypts the file. The other way, a contact's phone uploads an encrypted file and
// sends the message; the gateway downloads it through its SSRF guard, checks and decrypts it.

const RECIPIENT = '61400111222';
const validMessage = whapiValidator('Message');
const validSent = whapiValidator('SentMessage');

const paired = pairedSetups();

describe('media through the real Baileys client and the emulator', () => {
  it('an image sent with POST /messages/image arrives at the phone decrypted byte for byte', { timeout: 60_000 }, async () => {
    const s = await paired();
    const image = fakeImage(200_000);
    const res = await s.gate('POST', '/messages/image', { to: RECIPIENT, media: `data:image/png;base64,${image.toString('base64')}`, caption: 'the invoice photo' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(validSent(res.body), JSON.stringify(validSent.errors)).toBe(true);
    expect(res.body.message).toMatchObject({ type: 'image', status: 'sent', image: { sha256: sha256(image), file_size: image.length } });
    // Baileys uploaded one encrypted file to the host media_conn named, under its token and auth.
    expect(s.emulator.media.uploads.map((u) => u.kind)).toEqual(['image']);
    expect(s.emulator.media.uploads[0]!.bytes.length).toBeGreaterThan(image.length);
    const carried = await decrypted(s, res.body.message.id);
    expect(carried.media?.field).toBe('imageMessage');
    expect(carried.media?.bytes.equals(image)).toBe(true);
    expect(carried.media).toMatchObject({ mimetype: 'image/png', caption: 'the invoice photo' });
    expect(s.emulator.media.refusals).toEqual([]);
    expect(s.emulator.errors).toEqual([]);
  });

  it('a document keeps its file name and MIME type and arrives byte for byte', { timeout: 60_000 }, async () => {
    const s = await paired();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), fakeImage(70_001)]);
    const res = await s.gate('POST', '/messages/document', { to: RECIPIENT, media: `data:application/pdf;base64,${pdf.toString('base64')}`, filename: 'invoice-0042.pdf', caption: 'your invoice' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const carried = await decrypted(s, res.body.message.id);
    expect(carried.media?.field).toBe('documentMessage');
    expect(carried.media?.bytes.equals(pdf)).toBe(true);
    expect(carried.media).toMatchObject({ mimetype: 'application/pdf', fileName: 'invoice-0042.pdf', caption: 'your invoice' });
    expect(s.emulator.media.uploads.map((u) => u.kind)).toEqual(['document']);
    expect(s.emulator.errors).toEqual([]);
  });

  it('an image from a contact\'s phone is downloaded, checked, stored and downloadable byte for byte', { timeout: 60_000 }, async () => {
    const s = await paired();
    const photo = fakeImage(120_000);
    const sender = '61400333444';
    const id = await s.emulator.deliver(sender, mediaMessage(s.emulator.media, { kind: 'image', bytes: photo, mimetype: 'image/jpeg', caption: 'a photo from the phone' }));
    const message = await recorded(s, id);
    expect(validMessage(message), JSON.stringify(validMessage.errors)).toBe(true);
    expect(message).toMatchObject({
      id,
      type: 'image',
      from_me: false,
      chat_id: `${sender}@s.whatsapp.net`,
      from: sender,
      image: { mime_type: 'image/jpeg', file_size: photo.length, sha256: sha256(photo), caption: 'a photo from the phone' },
    });
    // The gateway fetched the encrypted file from the media host once, and serves the plaintext itself.
    expect(s.emulator.media.downloads).toHaveLength(1);
    const down = await fetch(message.image.link, { headers: { authorization: `Bearer ${s.token}` } });
    expect(down.status).toBe(200);
    expect(down.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await down.arrayBuffer()).equals(photo)).toBe(true);

    // A document keeps its name.
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), fakeImage(9_000)]);
    const docId = await s.emulator.deliver(sender, mediaMessage(s.emulator.media, { kind: 'document', bytes: pdf, mimetype: 'application/pdf', fileName: 'receipt.pdf' }));
    const doc = await recorded(s, docId);
    expect(validMessage(doc), JSON.stringify(validMessage.errors)).toBe(true);
    expect(doc).toMatchObject({ type: 'document', document: { mime_type: 'application/pdf', file_name: 'receipt.pdf', sha256: sha256(pdf) } });
    const docFile = await fetch(doc.document.link, { headers: { authorization: `Bearer ${s.token}` } });
    expect(Buffer.from(await docFile.arrayBuffer()).equals(pdf)).toBe(true);
    expect(s.emulator.errors).toEqual([]);
  });

  it('a media url at the metadata address is refused by the SSRF guard: nothing fetched, the message recorded as unknown with the reason', { timeout: 60_000 }, async () => {
    const s = await paired();
    const image = mediaMessage(s.emulator.media, { kind: 'image', bytes: fakeImage(5_000), mimetype: 'image/png', caption: 'see this' });
    image.imageMessage = { ...image.imageMessage, url: 'https://169.254.169.254/latest/meta-data/x.enc', directPath: '/latest/meta-data/x.enc' };
    const id = await s.emulator.deliver('61400555666', image);
    const message = await recorded(s, id);
    expect(validMessage(message), JSON.stringify(validMessage.errors)).toBe(true);
    expect(message).toMatchObject({ type: 'unknown', text: { body: 'see this' }, media_error: { type: 'image', mime_type: 'image/png', detail: expect.stringMatching(/169\.254\.169\.254.*link-local|metadata/) } });
    expect(message.image).toBeUndefined();
    expect(s.emulator.media.downloads).toEqual([]);
    expect(s.emulator.errors).toEqual([]);
  });

  it('a file changed on the media host fails its checks: not stored, the message recorded as unknown', { timeout: 60_000 }, async () => {
    const s = await paired();
    const image = mediaMessage(s.emulator.media, { kind: 'image', bytes: fakeImage(5_000), mimetype: 'image/png' });
    const hosted = s.emulator.media.files.get(image.imageMessage!.directPath!.split('?')[0]!)!;
    hosted.bytes[100]! ^= 0xff;
    const message = await recorded(s, await s.emulator.deliver('61400555666', image));
    expect(message).toMatchObject({ type: 'unknown', media_error: { type: 'image', detail: expect.stringMatching(/fileEncSha256/) } });
    expect(s.emulator.media.downloads).toHaveLength(1);
    expect((await s.gate('GET', '/media')).body.total).toBe(0);
  });
});
