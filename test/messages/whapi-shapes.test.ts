import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import { startReceiver, type Receiver, type Received } from '../support/receiver.js';
import { whapiValidator } from '../support/whapi.js';
import { FAST, QUIET, RECIPIENT, RECIPIENT_CHAT, pairedChannel, sendText } from './channel.js';

// What wagate answers and what it sends to webhooks must pass Whapi's own OpenAPI schemas.

const schema = {
  sent: whapiValidator('SentMessage'),
  message: whapiValidator('Message'),
  status: whapiValidator('Status'),
  error: whapiValidator('ResponseError'),
  messages: whapiValidator('MessagesList'),
  chats: whapiValidator('ChatsList'),
  chat: whapiValidator('Chat'),
  payload: whapiValidator('WebhookPayload'),
};

function expectValid(validate: ValidateFunction, value: unknown): void {
  const ok = validate(value);
  expect(ok ? [] : validate.errors, JSON.stringify(value)).toEqual([]);
}

const MESSAGE_EVENTS = [
  { type: 'messages', method: 'post' },
  { type: 'statuses', method: 'post' },
];

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

function eventsOf(channelId: string, type: string): Received[] {
  return receiver.received.filter((r) => r.json.channel_id === channelId && (r.json.event as { type?: string } | undefined)?.type === type);
}

describe('answers in Whapi shapes', () => {
  it('answers a send with a SentMessage whose message is a Whapi Message', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const res = await sendText(ch.gate, { to: RECIPIENT, body: 'hello whapi' });
    expect(res.status).toBe(200);
    expectValid(schema.sent, res.body);
    expect(res.body).toMatchObject({ sent: true, message: { type: 'text', chat_id: RECIPIENT_CHAT, from_me: true, status: 'sent', text: { body: 'hello whapi' } } });
  });

  it('answers the reads in MessagesList, Message, ChatsList and Chat shapes', async () => {
    const ch = await pairedChannel(gw.createChannel);
    await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, body: 'inbound one', name: 'Ann' });
    const sent = await sendText(ch.gate, { to: RECIPIENT, body: 'outbound one' });
    const list = await ch.gate('GET', '/messages/list');
    expect(list.status).toBe(200);
    expectValid(schema.messages, list.body);
    expect(list.body.messages).toHaveLength(2);
    expectValid(schema.messages, (await ch.gate('GET', `/messages/list/${RECIPIENT_CHAT}`)).body);
    const one = await ch.gate('GET', `/messages/${sent.body.message.id}`);
    expect(one.status).toBe(200);
    expectValid(schema.message, one.body);
    const chats = await ch.gate('GET', '/chats');
    expect(chats.status).toBe(200);
    expectValid(schema.chats, chats.body);
    const chat = await ch.gate('GET', `/chats/${RECIPIENT_CHAT}`);
    expect(chat.status).toBe(200);
    expectValid(schema.chat, chat.body);
  });

  it('answers failures in the ResponseError shape with the HTTP status repeated in code', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const bad = await sendText(ch.gate, { to: 'hello', body: 'x' });
    const missing = await ch.gate('GET', '/messages/ABCDEFGHIJKLMNOP-QRSTUVWX');
    await ch.gate('POST', '/sandbox/refuse', { count: 1 });
    const refused = await sendText(ch.gate, { to: RECIPIENT, body: 'refused' });
    const unpaired = await gw.createChannel({ sandbox: FAST });
    const unauthorised = await sendText(unpaired.gate, { to: RECIPIENT, body: 'too early' });
    for (const [res, code] of [[bad, 400], [missing, 404], [refused, 502], [unauthorised, 401]] as const) {
      expect(res.status).toBe(code);
      expectValid(schema.error, res.body);
      expect(res.body.error.code).toBe(code);
    }
  });
});

describe('webhook payloads in Whapi shapes', () => {
  it('posts messages.post with Whapi Messages for an inbound and a sent message', async () => {
    const ch = await pairedChannel(gw.createChannel, { settings: { webhooks: [{ url: `${receiver.url}/hook`, events: MESSAGE_EVENTS }] } });
    const inbound = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, body: 'from the phone', name: 'Ann' });
    const sent = await sendText(ch.gate, { to: RECIPIENT, body: 'from the api' });
    await until(() => eventsOf(ch.id, 'messages').length >= 2, 'two messages.post');

    const posts = eventsOf(ch.id, 'messages');
    const messages = posts.flatMap((p) => p.json.messages as Array<{ id: string; from_me: boolean }>);
    for (const p of posts) {
      expect(p.method).toBe('POST');
      expect(p.json.event).toEqual({ type: 'messages', event: 'post' });
      expectValid(schema.payload, p.json);
    }
    for (const m of messages) expectValid(schema.message, m);
    expect(messages.find((m) => m.id === inbound.body.message_id)).toMatchObject({ from_me: false, from: RECIPIENT, from_name: 'Ann', text: { body: 'from the phone' } });
    expect(messages.find((m) => m.id === sent.body.message.id)).toMatchObject({ from_me: true, text: { body: 'from the api' } });
  });

  it('posts statuses.post with Whapi Statuses for sent (2), delivered (3) and read (4)', async () => {
    const ch = await pairedChannel(gw.createChannel, {
      sandbox: { ...QUIET, receipt_delivered_ms: 30, receipt_read_ms: 60 },
      settings: { webhooks: [{ url: `${receiver.url}/hook`, events: MESSAGE_EVENTS }] },
    });
    const sent = await sendText(ch.gate, { to: RECIPIENT, body: 'watch my ticks' });
    const id = sent.body.message.id as string;
    const statuses = (): Array<{ id: string; code: number; status: string; recipient_id: string; timestamp: string }> =>
      eventsOf(ch.id, 'statuses').flatMap((p) => p.json.statuses as never);
    await until(() => statuses().filter((s) => s.id === id).length >= 3, 'sent, delivered and read statuses');

    for (const p of eventsOf(ch.id, 'statuses')) {
      expect(p.json.event).toEqual({ type: 'statuses', event: 'post' });
      expectValid(schema.payload, p.json);
    }
    const mine = statuses().filter((s) => s.id === id);
    for (const s of mine) expectValid(schema.status, s);
    expect(mine.map((s) => [s.status, s.code])).toEqual([
      ['sent', 2],
      ['delivered', 3],
      ['read', 4],
    ]);
    expect(mine.every((s) => s.recipient_id === RECIPIENT_CHAT && /^\d+$/.test(s.timestamp))).toBe(true);
  });
});
