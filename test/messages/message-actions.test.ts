import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeImage, sha256 } from '../media/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import type { Answer, Call } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { FAST, pairedChannel, reach, RECIPIENT, RECIPIENT_CHAT } from './channel.js';

// The other `/messages/{MessageID}` operations Whapi lists, on the sandbox: forward (POST), mark
// as read (PUT), delete (DELETE). Each answer is checked against Whapi's schemas.

const v = { sent: whapiValidator('SentMessage'), message: whapiValidator('Message'), success: whapiValidator('ResponseSuccess'), error: whapiValidator('ResponseError'), chats: whapiValidator('ChatsList') };
const OTHER = '61400999888';

function valid(validate: ValidateFunction, body: unknown): void {
  expect(validate(body), `${JSON.stringify(body).slice(0, 1500)}\n${JSON.stringify(validate.errors)}`).toBe(true);
}
function error(res: Answer, status: number, details?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  valid(v.error, res.body);
  if (details) expect(JSON.stringify(res.body)).toContain(details);
}

let gw: TestGateway;
let ch: { id: string; token: string; gate: Call };
type Row = { id: string; type: string; body: string; target?: string; forwarded?: boolean; chat_id: string; media?: { sha256: string } };
const sent = async (): Promise<Row[]> => (await ch.gate('GET', '/sandbox/sent')).body.messages;
const unread = async (chatId: string): Promise<number> => {
  const list = await ch.gate('GET', '/chats');
  valid(v.chats, list.body);
  return list.body.chats.find((c: { id: string }) => c.id === chatId)?.unread;
};

beforeAll(async () => {
  gw = await startTestGateway();
  ch = await pairedChannel(gw.createChannel);
});
afterAll(() => gw?.close());

describe('POST /messages/{MessageID}: forward', () => {
  it('forwards a received image to another chat: the same file leaves again, marked forwarded', async () => {
    const photo = fakeImage(20_000);
    const inbound = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, type: 'image', media: photo.toString('base64'), mime_type: 'image/png', caption: 'look' });
    const res = await ch.gate('POST', `/messages/${inbound.body.message_id}`, { to: OTHER });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    valid(v.sent, res.body);
    expect(res.body.message).toMatchObject({ type: 'image', chat_id: `${OTHER}@s.whatsapp.net`, from_me: true, context: { forwarded: true, forwarding_score: 1 }, image: { sha256: sha256(photo), caption: 'look' } });
    expect((await sent()).at(-1)).toMatchObject({ id: res.body.message.id, type: 'image', chat_id: `${OTHER}@s.whatsapp.net`, forwarded: true, body: 'look', media: { sha256: sha256(photo) } });
    const stored = await ch.gate('GET', `/messages/${res.body.message.id}`);
    valid(v.message, stored.body);
  });

  it('forwards a text, a location and a contact', async () => {
    const text = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'pass it on' });
    const place = await ch.gate('POST', '/messages/location', { to: RECIPIENT, latitude: 1.5, longitude: 2.5, name: 'here' });
    const card = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, contact: { name: 'Ann', vcard: 'BEGIN:VCARD\nEND:VCARD' } });
    const kinds = [];
    for (const id of [text.body.message.id, place.body.message.id, card.body.message_id]) {
      const res = await ch.gate('POST', `/messages/${id}`, { to: OTHER, force: true });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      valid(v.sent, res.body);
      kinds.push([res.body.message.type, (await sent()).at(-1)!.body, (await sent()).at(-1)!.forwarded]);
    }
    expect(kinds).toEqual([
      ['text', 'pass it on', true],
      ['location', '1.5,2.5', true],
      ['contact', 'Ann', true],
    ]);
  });

  it('refuses an unknown message (404) and a bad recipient (400), sending nothing', async () => {
    const before = (await sent()).length;
    error(await ch.gate('POST', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx', { to: OTHER }), 404);
    const text = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'x' });
    error(await ch.gate('POST', `/messages/${text.body.message.id}`, { to: 'not a number' }), 400, 'to');
    error(await ch.gate('POST', `/messages/${text.body.message.id}`, {}), 400, 'to');
    expect((await sent()).length).toBe(before + 1);
  });
});

describe('PUT /messages/{MessageID}: mark as read', () => {
  it('sends a read receipt, marks the message read and takes it off its chat\'s unread count, once', async () => {
    const from = '61400777666';
    const a = await ch.gate('POST', '/sandbox/inbound', { from, body: 'one' });
    await ch.gate('POST', '/sandbox/inbound', { from, body: 'two' });
    const chat = `${from}@s.whatsapp.net`;
    expect(await unread(chat)).toBe(2);
    const res = await ch.gate('PUT', `/messages/${a.body.message_id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    valid(v.success, res.body);
    expect((await sent()).at(-1)).toMatchObject({ type: 'read', target: a.body.message_id, chat_id: chat });
    expect((await ch.gate('GET', `/messages/${a.body.message_id}`)).body.status).toBe('read');
    expect(await unread(chat)).toBe(1);
    expect((await ch.gate('PUT', `/messages/${a.body.message_id}`)).status).toBe(200);
    expect(await unread(chat)).toBe(1);
  });

  it('refuses a message this channel sent (400), sending nothing', async () => {
    const text = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'mine' });
    const before = (await sent()).length;
    error(await ch.gate('PUT', `/messages/${text.body.message.id}`), 400, 'received');
    expect((await sent()).length).toBe(before);
  });
});

describe('DELETE /messages/{MessageID}', () => {
  it('revokes a message this channel sent for everyone, and deletes a received one on this device', async () => {
    const mine = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'oops' });
    const res = await ch.gate('DELETE', `/messages/${mine.body.message.id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    valid(v.success, res.body);
    expect((await sent()).at(-1)).toMatchObject({ type: 'revoke', target: mine.body.message.id, chat_id: RECIPIENT_CHAT });
    const gone = (await ch.gate('GET', `/messages/${mine.body.message.id}`)).body;
    valid(v.message, gone);
    expect(gone.status).toBe('deleted');
    const theirs = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, body: 'spam' });
    expect((await ch.gate('DELETE', `/messages/${theirs.body.message_id}`)).status).toBe(200);
    expect((await sent()).at(-1)).toMatchObject({ type: 'delete_for_me', target: theirs.body.message_id });
    error(await ch.gate('DELETE', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx'), 404);
  });
});

describe('outside AUTH', () => {
  it('answers 401 to forward, read and delete in QR', async () => {
    const qr = await gw.createChannel({ sandbox: FAST });
    await reach(qr.gate, 'QR');
    error(await qr.gate('POST', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx', { to: OTHER }), 401);
    error(await qr.gate('PUT', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx'), 401);
    error(await qr.gate('DELETE', '/messages/AbCdEfGhIjKlMnOp-QrStUvWx'), 401);
  });
});
