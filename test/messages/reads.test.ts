import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/channel/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { QUIET, RECIPIENT, RECIPIENT_CHAT, pairedChannel, sendText, sentLog, statusOf } from './channel.js';

// Reading messages and chats (SPEC §6): what arrives and what is sent is listed newest first,
// paged, with unread counts; receipts only move a status forward; a refused send stores nothing.

const ANN = '61400222333';
const BOB = '61400444555';
const chatOf = (phone: string): string => `${phone}@s.whatsapp.net`;

interface ListedMessage { id: string; chat_id: string; from_me: boolean; status?: string; text: { body: string } }
interface MessagesList { messages: ListedMessage[]; count: number; total: number; offset: number }
interface ListedChat { id: string; unread: number; timestamp: number; name?: string; last_message?: ListedMessage }

let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await gw?.close();
});

/** Delivers an inbound message and waits until the gateway lists it. */
async function inbound(gate: Call, from: string, body: string, name?: string): Promise<string> {
  const res = await gate<{ message_id: string }>('POST', '/sandbox/inbound', { from, body, name });
  expect(res.status).toBe(200);
  const id = res.body.message_id;
  await until(async () => (await gate('GET', `/messages/${id}`)).status === 200, `inbound ${body}`);
  return id;
}

async function list(gate: Call, path: string): Promise<MessagesList> {
  const res = await gate<MessagesList>('GET', path);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('reading messages', () => {
  it('lists inbound and sent messages newest first, per chat, and one by id', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const a1 = await inbound(ch.gate, ANN, 'ann one', 'Ann');
    const b1 = await inbound(ch.gate, BOB, 'bob one');
    const sent = (await sendText(ch.gate, { to: ANN, body: 'reply to ann' })).body.message.id as string;
    const a2 = await inbound(ch.gate, ANN, 'ann two', 'Ann');

    const all = await list(ch.gate, '/messages/list');
    expect(all.messages.map((m) => m.id)).toEqual([a2, sent, b1, a1]);
    expect(all).toMatchObject({ count: 4, total: 4, offset: 0 });

    const ann = await list(ch.gate, `/messages/list/${chatOf(ANN)}`);
    expect(ann.messages.map((m) => m.text.body)).toEqual(['ann two', 'reply to ann', 'ann one']);
    expect(ann.total).toBe(3);

    const one = await ch.gate('GET', `/messages/${a1}`);
    expect(one.body).toMatchObject({ id: a1, chat_id: chatOf(ANN), from: ANN, from_me: false, from_name: 'Ann', text: { body: 'ann one' } });
    expect((await ch.gate('GET', `/messages/${sent}`)).body).toMatchObject({ id: sent, from_me: true, chat_id: chatOf(ANN) });
  });

  it('filters by from_me', async () => {
    const ch = await pairedChannel(gw.createChannel);
    await inbound(ch.gate, ANN, 'theirs');
    await sendText(ch.gate, { to: ANN, body: 'mine' });
    expect((await list(ch.gate, '/messages/list?from_me=true')).messages.map((m) => m.text.body)).toEqual(['mine']);
    expect((await list(ch.gate, '/messages/list?from_me=false')).messages.map((m) => m.text.body)).toEqual(['theirs']);
  });

  it('answers 404 in the error shape for an unknown message id and an unknown chat', async () => {
    const ch = await pairedChannel(gw.createChannel);
    for (const path of ['/messages/ABCDEFGHIJKLMNOP-QRSTUVWX', `/chats/${chatOf('61499999999')}`, `/messages/list/${chatOf('61499999999')}`]) {
      const res = await ch.gate('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 404, message: expect.any(String) } });
    }
  });

  it('pages with count and offset and reports the total', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await inbound(ch.gate, ANN, `page ${i}`));
    const newestFirst = [...ids].reverse();

    const pages = [await list(ch.gate, '/messages/list?count=2&offset=0'), await list(ch.gate, '/messages/list?count=2&offset=2'), await list(ch.gate, '/messages/list?count=2&offset=4')];
    expect(pages.map((p) => p.messages.map((m) => m.id))).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);
    expect(pages.map((p) => [p.count, p.total, p.offset])).toEqual([[2, 5, 0], [2, 5, 2], [1, 5, 4]]);
    const beyond = await list(ch.gate, `/messages/list/${chatOf(ANN)}?count=2&offset=10`);
    expect(beyond).toMatchObject({ messages: [], count: 0, total: 5, offset: 10 });
  });

  it('answers 400 for paging out of bounds', async () => {
    const ch = await pairedChannel(gw.createChannel);
    for (const q of ['count=0', 'count=501', 'offset=-1', 'count=abc']) {
      const res = await ch.gate('GET', `/messages/list?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe(400);
    }
  });
});

describe('reading chats', () => {
  it('lists chats with unread counts of inbound messages and the last message', async () => {
    const ch = await pairedChannel(gw.createChannel);
    await inbound(ch.gate, ANN, 'ann 1', 'Ann');
    await inbound(ch.gate, ANN, 'ann 2', 'Ann');
    const lastAnn = await inbound(ch.gate, ANN, 'ann 3', 'Ann');
    await inbound(ch.gate, BOB, 'bob 1', 'Bob');
    await sendText(ch.gate, { to: RECIPIENT, body: 'outbound only' });

    const res = await ch.gate<{ chats: ListedChat[]; count: number; total: number; offset: number }>('GET', '/chats');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ count: 3, total: 3, offset: 0 });
    const byId = new Map(res.body.chats.map((c) => [c.id, c]));
    expect(byId.get(chatOf(ANN))).toMatchObject({ unread: 3, name: 'Ann', type: 'contact' });
    expect(byId.get(chatOf(BOB))).toMatchObject({ unread: 1 });
    expect(byId.get(RECIPIENT_CHAT)).toMatchObject({ unread: 0 });
    const stamps = res.body.chats.map((c) => c.timestamp);
    expect(stamps).toEqual([...stamps].sort((x, y) => y - x));

    const ann = await ch.gate<ListedChat>('GET', `/chats/${chatOf(ANN)}`);
    expect(ann.status).toBe(200);
    expect(ann.body).toMatchObject({ id: chatOf(ANN), unread: 3, last_message: { id: lastAnn, text: { body: 'ann 3' } } });
  });

  it('lists the chat with the latest message first, also when two chats are active within one second', async () => {
    // Whapi's timestamps are whole seconds; a virtual clock keeps both messages in the same one.
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const vgw = await startTestGateway({ clock, env: { WAGATE_LOG_LEVEL: 'silent' } });
    try {
      const ch = await vgw.createChannel({ sandbox: QUIET });
      await clock.advance(100);
      await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR');
      expect((await ch.gate('POST', '/sandbox/scan', {})).status).toBe(200);
      await until(async () => (await statusOf(ch.gate)) === 'AUTH', 'AUTH');
      for (const [from, body] of [[ANN, 'ann first'], [BOB, 'bob second']] as const) {
        expect((await ch.gate('POST', '/sandbox/inbound', { from, body })).status).toBe(200);
        await clock.advance(0);
      }
      await until(async () => (await ch.gate('GET', '/chats')).body.total === 2, 'two chats');
      const chats = (await ch.gate<{ chats: ListedChat[] }>('GET', '/chats')).body.chats;
      expect(chats.map((c) => c.timestamp)).toEqual([chats[0]!.timestamp, chats[0]!.timestamp]);
      expect(chats.map((c) => c.last_message?.text.body)).toEqual(['bob second', 'ann first']);
    } finally {
      await vgw.close();
    }
  });

  it('pages chats with count and offset', async () => {
    const ch = await pairedChannel(gw.createChannel);
    for (const phone of [ANN, BOB, RECIPIENT]) await inbound(ch.gate, phone, `hello from ${phone}`);
    const all = (await ch.gate<{ chats: ListedChat[] }>('GET', '/chats')).body.chats.map((c) => c.id);
    const first = (await ch.gate<{ chats: ListedChat[]; total: number }>('GET', '/chats?count=2&offset=0')).body;
    const rest = (await ch.gate<{ chats: ListedChat[]; total: number }>('GET', '/chats?count=2&offset=2')).body;
    expect([first.total, rest.total]).toEqual([3, 3]);
    expect([...first.chats, ...rest.chats].map((c) => c.id)).toEqual(all);
  });
});

describe('receipts and refused sends', () => {
  it('moves a status forward only: read, then a late delivered, stays read', async () => {
    const ch = await pairedChannel(gw.createChannel, {
      settings: { webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'messages', method: 'post' }, { type: 'statuses', method: 'post' }] }] },
    });
    const id = (await sendText(ch.gate, { to: RECIPIENT, body: 'tick tick' })).body.message.id as string;
    expect((await ch.gate('POST', '/sandbox/receipt', { message_id: id, status: 'read' })).status).toBe(200);
    await until(async () => (await ch.gate('GET', `/messages/${id}`)).body.status === 'read', 'status read');
    expect((await ch.gate('POST', '/sandbox/receipt', { message_id: id, status: 'delivered' })).status).toBe(200);
    // A later inbound is a barrier: webhooks arrive in event order, so once it is in, the late receipt was handled.
    const barrier = await inbound(ch.gate, ANN, 'barrier');
    const mine = (type: string): Array<Record<string, unknown>> =>
      receiver.received.filter((r) => r.json.channel_id === ch.id && (r.json.event as { type: string }).type === type).flatMap((r) => r.json[type] as never);
    await until(() => mine('messages').some((m) => m.id === barrier), 'the barrier message at the receiver');

    expect((await ch.gate('GET', `/messages/${id}`)).body.status).toBe('read');
    expect((await list(ch.gate, '/messages/list')).messages.find((m) => m.id === id)?.status).toBe('read');
    expect(mine('statuses').filter((s) => s.id === id).map((s) => s.status)).toEqual(['sent', 'read']);
  });

  it('answers 502 in the error shape for a send the network refuses, and stores nothing', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await ch.gate('POST', '/sandbox/refuse', { count: 1 })).status).toBe(200);
    const refused = await sendText(ch.gate, { to: RECIPIENT, body: 'refused' });

    expect(refused.status).toBe(502);
    expect(refused.body).toMatchObject({ error: { code: 502, message: expect.any(String), details: expect.any(String) } });
    expect(await sentLog(ch.gate)).toEqual([]);
    expect((await list(ch.gate, '/messages/list')).total).toBe(0);
    expect((await ch.gate('GET', '/chats')).body.total).toBe(0);
    expect((await ch.gate('GET', `/chats/${RECIPIENT_CHAT}`)).status).toBe(404);

    // The refusal is used up: the next send goes out.
    expect((await sendText(ch.gate, { to: RECIPIENT, body: 'accepted' })).status).toBe(200);
    expect((await sentLog(ch.gate)).map((m) => m.body)).toEqual(['accepted']);
  });
});
