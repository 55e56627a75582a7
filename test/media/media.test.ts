import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Answer, type Call } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { FAST, pairedChannel, reach, RECIPIENT, RECIPIENT_CHAT } from '../messages/channel.js';
import { fakeImage, fileServer, sha256 } from './fixtures.js';

// The media half of SPEC §6 on the sandbox: uploads, downloads, every media send in JSON and
// multipart, inbound media, reactions, stars and pins, each answer checked against Whapi's schemas.

const v = {
  sent: whapiValidator('SentMessage'),
  message: whapiValidator('Message'),
  files: whapiValidator('MediaFilesList'),
  filesArray: whapiValidator('MediaFiles'),
  upload: whapiValidator('UploadMediaResponse'),
  error: whapiValidator('ResponseError'),
  success: whapiValidator('ResponseSuccess'),
};

function valid(validate: ValidateFunction, body: unknown): void {
  expect(validate(body), `${JSON.stringify(body).slice(0, 2000)}\n${JSON.stringify(validate.errors, null, 1)}`).toBe(true);
}

function error(res: Answer, status: number, details?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  valid(v.error, res.body);
  if (details) expect(JSON.stringify(res.body)).toContain(details);
}

interface SentRow { id: string; type: string; body: string; media?: { sha256: string; file_size: number; mime_type: string; file_name?: string }; target?: string; emoji?: string }

let gw: TestGateway;
let ch: { id: string; token: string; gate: Call };
let files: Awaited<ReturnType<typeof fileServer>>;
const image = fakeImage(50_000);

const sent = async (): Promise<SentRow[]> => (await ch.gate('GET', '/sandbox/sent')).body.messages;

/** Raw request with the channel token. */
async function raw(method: string, path: string, body: RequestInit['body'], headers: Record<string, string> = {}): Promise<Answer<any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${ch.token}`, ...headers }, body });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

beforeAll(async () => {
  gw = await startTestGateway();
  ch = await pairedChannel(gw.createChannel);
  files = await fileServer(image);
});
afterAll(async () => {
  await files?.close();
  await gw?.close();
});

describe('the media store', () => {
  it('uploads a file as the body, lists it, serves it byte for byte with its type, deletes it', async () => {
    const up = await raw('POST', '/media', image, { 'content-type': 'image/png' });
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    valid(v.upload, up.body);
    const id = up.body.media[0].id as string;
    expect(id).toMatch(/^png-[0-9a-f]{32}$/);

    const list = await ch.gate('GET', '/media?count=5');
    valid(v.files, list.body);
    valid(v.filesArray, list.body.files);
    expect(list.body.files[0]).toMatchObject({ id, mime_type: 'image/png', file_size: image.length, sha256: sha256(image), link: `${gw.url}/media/${id}` });

    const down = await raw('GET', `/media/${id}`, undefined as never);
    expect(down.status).toBe(200);
    expect(down.headers.get('content-type')).toBe('image/png');
    expect((down.body as Buffer).equals(image)).toBe(true);

    const del = await ch.gate('DELETE', `/media/${id}`);
    valid(v.success, del.body);
    error(await ch.gate('GET', `/media/${id}`), 404);
    error(await ch.gate('DELETE', `/media/${id}`), 404);
  });

  it('uploads as multipart and as JSON with a data: URL', async () => {
    const form = new FormData();
    form.append('file', new Blob([image], { type: 'image/png' }), 'photo.png');
    const multi = await raw('POST', '/media', form);
    valid(v.upload, multi.body);
    const json = await ch.gate('POST', '/media', { media: `data:application/pdf;base64,${Buffer.from('%PDF-1.4 tiny').toString('base64')}` });
    valid(v.upload, json.body);
    expect(json.body.media[0].id).toMatch(/^pdf-/);
    const listed = (await ch.gate('GET', '/media?sort=asc&count=500')).body.files as Array<{ id: string; file_name?: string }>;
    expect(listed.find((f) => f.id === multi.body.media[0].id)?.file_name).toBe('photo.png');
  });

  it('refuses an empty file, a bad id and a file over WAGATE_MEDIA_MAX_BYTES', async () => {
    error(await raw('POST', '/media', Buffer.alloc(0), { 'content-type': 'image/png' }), 400);
    error(await ch.gate('GET', '/media/not_an_id'), 400);
    error(await ch.gate('POST', '/media', { media: 'nonsense' }), 400);
  });
});

describe("Whapi's example bot: image, document, video, contact and location sends", () => {
  it('sends each, answers SentMessage, and lists them with their media objects', async () => {
    const before = (await sent()).length;
    // The bot's calls, as Whapi documents them (requestBody examples), with loopback media.
    const imageSend = await ch.gate('POST', '/messages/image', { to: RECIPIENT, caption: 'Hello, this message was sent via API!', media: `${files.url}/file/flower.png` });
    const docSend = await ch.gate('POST', '/messages/document', { to: RECIPIENT, media: `data:application/pdf;base64,${Buffer.from('%PDF-1.4 invoice').toString('base64')}`, filename: 'Example', caption: 'Text caption under the document' });
    const videoForm = new FormData();
    videoForm.append('to', RECIPIENT);
    videoForm.append('caption', 'a video');
    videoForm.append('media', new Blob([Buffer.from('not really mp4')], { type: 'video/mp4' }), 'clip.mp4');
    const videoSend = await raw('POST', '/messages/video', videoForm);
    const contactSend = await ch.gate('POST', '/messages/contact', { to: RECIPIENT, name: 'Name of contact', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Example\nTEL;type=Mobile:+90 850242323\nEND:VCARD' });
    const locationSend = await ch.gate('POST', '/messages/location', { to: RECIPIENT, latitude: 41.0082, longitude: 28.9784, name: 'Istanbul', address: 'Fatih' });
    for (const res of [imageSend, docSend, videoSend, contactSend, locationSend]) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      valid(v.sent, res.body);
    }
    expect(imageSend.body.message.image).toMatchObject({ mime_type: 'image/png', file_size: image.length, sha256: sha256(image), caption: 'Hello, this message was sent via API!' });
    expect(docSend.body.message.document).toMatchObject({ mime_type: 'application/pdf', file_name: 'Example', caption: 'Text caption under the document' });
    expect(videoSend.body.message.video).toMatchObject({ mime_type: 'video/mp4', file_name: 'clip.mp4', caption: 'a video' });
    expect(contactSend.body.message.contact.name).toBe('Name of contact');
    expect(locationSend.body.message.location).toMatchObject({ latitude: 41.0082, longitude: 28.9784 });

    const carried = (await sent()).slice(before);
    expect(carried.map((m) => m.type)).toEqual(['image', 'document', 'video', 'contacts', 'location']);
    expect(carried[0]!.media!.sha256).toBe(sha256(image));

    const list = await ch.gate('GET', '/messages/list?count=10');
    for (const m of list.body.messages.slice(0, 5)) valid(v.message, m);
    const ids = [imageSend, docSend, videoSend, contactSend, locationSend].map((r) => r.body.message.id);
    expect(list.body.messages.slice(0, 5).map((m: { id: string }) => m.id)).toEqual([...ids].reverse());
    // The sent image's copy on the gateway is the file that left, byte for byte.
    const copy = await raw('GET', `/media/${imageSend.body.message.image.id}`, undefined as never);
    expect((copy.body as Buffer).equals(image)).toBe(true);
  });

  it('receives an image from the phone, stores it and serves it byte for byte', async () => {
    const photo = fakeImage(30_000);
    const res = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, type: 'image', media: photo.toString('base64'), mime_type: 'image/png', caption: 'from the phone' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const message = (await ch.gate('GET', `/messages/${res.body.message_id}`)).body;
    valid(v.message, message);
    expect(message).toMatchObject({ type: 'image', from_me: false, chat_id: RECIPIENT_CHAT, image: { mime_type: 'image/png', file_size: photo.length, sha256: sha256(photo), caption: 'from the phone' } });
    const down = await fetch(message.image.link, { headers: { authorization: `Bearer ${ch.token}` } });
    expect(Buffer.from(await down.arrayBuffer()).equals(photo)).toBe(true);
  });

  it('receives a voice note, a document, a location and a contact', async () => {
    const voice = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, type: 'voice', media: `data:audio/ogg;base64,${Buffer.from('OggS voice').toString('base64')}` });
    const doc = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, type: 'document', media: Buffer.from('%PDF').toString('base64'), mime_type: 'application/pdf', file_name: 'bill.pdf' });
    const place = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, location: { latitude: 1.5, longitude: 2.5 } });
    const card = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, contact: { name: 'Ann', vcard: 'BEGIN:VCARD\nEND:VCARD' } });
    const types = [];
    for (const res of [voice, doc, place, card]) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const m = (await ch.gate('GET', `/messages/${res.body.message_id}`)).body;
      valid(v.message, m);
      types.push(m.type);
    }
    expect(types).toEqual(['voice', 'document', 'location', 'contact']);
    error(await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, type: 'image' }), 400, 'media');
  });
});

describe('every media route', () => {
  const kinds = ['image', 'video', 'gif', 'short', 'audio', 'voice', 'document', 'sticker'];

  it.each(kinds)('POST /messages/%s in JSON and multipart, and POST /messages/media/{type}', async (kind) => {
    const bytes = fakeImage(2000);
    const json = await ch.gate('POST', `/messages/${kind}`, { to: RECIPIENT, media: `data:application/octet-stream;base64,${bytes.toString('base64')}` });
    expect(json.status, JSON.stringify(json.body)).toBe(200);
    valid(v.sent, json.body);
    expect(json.body.message.type).toBe(kind);
    const form = new FormData();
    form.append('to', RECIPIENT);
    form.append('media', new Blob([bytes]), `f.bin`);
    const multi = await raw('POST', `/messages/${kind}`, form);
    expect(multi.status, JSON.stringify(multi.body)).toBe(200);
    valid(v.sent, multi.body);
    if (kind !== 'short') {
      const direct = await raw('POST', `/messages/media/${kind}?to=${RECIPIENT}`, bytes, { 'content-type': 'application/octet-stream' });
      expect(direct.status, JSON.stringify(direct.body)).toBe(200);
      valid(v.sent, direct.body);
      expect(direct.body.message[kind].sha256).toBe(sha256(bytes));
    }
  });

  it('sends a contact list and a link preview', async () => {
    const list = await ch.gate('POST', '/messages/contact_list', { to: RECIPIENT, list: [{ name: 'A', vcard: 'BEGIN:VCARD\nEND:VCARD' }, { name: 'B', vcard: 'BEGIN:VCARD\nEND:VCARD' }] });
    valid(v.sent, list.body);
    const link = await ch.gate('POST', '/messages/link_preview', { to: RECIPIENT, body: 'see https://example.com/features', title: 'The title of your link', media: `${files.url}/file/preview.png` });
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    valid(v.sent, link.body);
    expect(link.body.message.link_preview).toMatchObject({ title: 'The title of your link', sha256: sha256(image) });
  });

  it('refuses bad bodies with 400 and sends nothing', async () => {
    const before = (await sent()).length;
    error(await ch.gate('POST', '/messages/image', { to: RECIPIENT }), 400, 'media');
    error(await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: 'x', colour: 'red' }), 400, 'colour');
    error(await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: 'data:image/png;base64,@@@' }), 400);
    error(await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: 'png-00000000000000000000000000000000' }), 404);
    error(await ch.gate('POST', '/messages/location', { to: RECIPIENT, latitude: 91, longitude: 0 }), 400, 'latitude');
    error(await ch.gate('POST', '/messages/media/hologram?to=' + RECIPIENT, Buffer.from('x') as never), 400);
    expect(await sent()).toHaveLength(before);
  });

  it('sends an uploaded id, once per Idempotency-Key', async () => {
    const up = await raw('POST', '/media', image, { 'content-type': 'image/png' });
    const id = up.body.media[0].id;
    const before = (await sent()).length;
    const first = await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: id }, { 'idempotency-key': 'media-once' });
    const again = await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: id }, { 'idempotency-key': 'media-once' });
    expect(first.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(first.body.message.image.id).toBe(id);
    expect(await sent()).toHaveLength(before + 1);
    error(await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: id, caption: 'other' }, { 'idempotency-key': 'media-once' }), 409);
  });
});

describe('reactions, stars and pins', () => {
  it('reacts, unreacts, stars and pins, each announced and kept on the message', async () => {
    const target = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'react to me' });
    const id = target.body.message.id as string;
    valid(v.success, (await ch.gate('PUT', `/messages/${id}/reaction`, { emoji: '👍' })).body);
    let m = (await ch.gate('GET', `/messages/${id}`)).body;
    valid(v.message, m);
    expect(m.reactions).toEqual([expect.objectContaining({ emoji: '👍' })]);
    expect((await sent()).at(-1)).toMatchObject({ type: 'reaction', target: id, emoji: '👍' });
    expect((await ch.gate('DELETE', `/messages/${id}/reaction`)).status).toBe(200);
    m = (await ch.gate('GET', `/messages/${id}`)).body;
    expect(m.reactions).toBeUndefined();
    expect((await ch.gate('PUT', `/messages/${id}/star`, { starred: true })).status).toBe(200);
    expect((await ch.gate('POST', `/messages/${id}/pin`, { time: 'day' })).status).toBe(200);
    m = (await ch.gate('GET', `/messages/${id}`)).body;
    valid(v.message, m);
    expect(m).toMatchObject({ starred: true, pinned_until: expect.any(Number) });
    expect((await ch.gate('DELETE', `/messages/${id}/pin`)).status).toBe(200);
    expect((await ch.gate('GET', `/messages/${id}`)).body.pinned_until).toBeUndefined();
    error(await ch.gate('PUT', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx/reaction', { emoji: '👍' }), 404);
    error(await ch.gate('POST', `/messages/${id}/pin`, { time: 'year' }), 400, 'time');
  });
});

describe('outside AUTH', () => {
  it('answers 401 in Whapi\'s shape before fetching anything, in QR and after a logout', async () => {
    const qr = await gw.createChannel({ sandbox: FAST });
    await reach(qr.gate, 'QR');
    const hits = files.hits.length;
    error(await qr.gate('POST', '/messages/image', { to: RECIPIENT, media: `${files.url}/file/x.png` }), 401);
    error(await qr.gate('POST', '/messages/location', { to: RECIPIENT, latitude: 1, longitude: 1 }), 401);
    error(await qr.gate('POST', '/media', { media: `${files.url}/file/x.png` }), 401);
    expect(files.hits.length).toBe(hits);
    valid(v.files, (await qr.gate('GET', '/media')).body);
  });

  it('sends media in SYNC_ERROR, as text', async () => {
    const other = await pairedChannel(gw.createChannel);
    expect((await other.gate('POST', '/sandbox/sync_error')).status).toBe(200);
    await until(async () => (await other.gate('GET', '/health?wakeup=false')).body.status.text === 'SYNC_ERROR', 'SYNC_ERROR');
    const res = await other.gate('POST', '/messages/image', { to: RECIPIENT, media: `data:image/png;base64,${image.toString('base64')}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    valid(v.sent, res.body);
  });
});
