import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { RECIPIENT, pairedChannel, sendText, sentLog } from './channel.js';

// Idempotency-Key on sends (SPEC §6): the same key within 24 h answers the first answer and
// sends nothing again.

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
});

afterAll(async () => {
  await gw?.close();
});

const key = (name: string): Record<string, string> => ({ 'idempotency-key': `${name}-${Math.random().toString(36).slice(2)}` });

describe('Idempotency-Key', () => {
  it('sends once and answers the same message for the same key twice', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('twice');
    const first = await sendText(ch.gate, { to: RECIPIENT, body: 'only once' }, k);
    const second = await sendText(ch.gate, { to: RECIPIENT, body: 'only once' }, k);

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.body.message.id).toBe(first.body.message.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await sentLog(ch.gate)).map((m) => m.body)).toEqual(['only once']);
    const list = await ch.gate('GET', '/messages/list');
    expect(list.body.total).toBe(1);
  });

  it('answers 409 for the same key with a different body and sends nothing more', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('reused');
    expect((await sendText(ch.gate, { to: RECIPIENT, body: 'first body' }, k)).status).toBe(200);
    const reused = await sendText(ch.gate, { to: RECIPIENT, body: 'another body' }, k);

    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ error: { code: 409, message: expect.stringContaining('Idempotency-Key') } });
    expect((await sentLog(ch.gate)).map((m) => m.body)).toEqual(['first body']);
  });

  it('answers 409 for the same key with a different recipient', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('recipient');
    expect((await sendText(ch.gate, { to: RECIPIENT, body: 'same body' }, k)).status).toBe(200);
    expect((await sendText(ch.gate, { to: '61400999888', body: 'same body' }, k)).status).toBe(409);
    expect(await sentLog(ch.gate)).toHaveLength(1);
  });

  it('sends once for 10 concurrent requests with the same key, and all answer the same message', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('concurrent');
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendText(ch.gate, { to: RECIPIENT, body: 'raced' }, k)));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.body.message.id)).size).toBe(1);
    expect(await sentLog(ch.gate)).toHaveLength(1);
  });

  it('sends once for 10 concurrent same-key requests made during a blip', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('held');
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 500 })).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 10 }, () => sendText(ch.gate, { to: RECIPIENT, body: 'held and raced' }, k)));

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((a) => a.body.message.id)).size).toBe(1);
    expect(await sentLog(ch.gate)).toHaveLength(1);
  });

  it('keeps keys apart per channel', async () => {
    const a = await pairedChannel(gw.createChannel);
    const b = await pairedChannel(gw.createChannel);
    const k = key('shared');
    const fromA = await sendText(a.gate, { to: RECIPIENT, body: 'same key, two channels' }, k);
    const fromB = await sendText(b.gate, { to: RECIPIENT, body: 'same key, two channels' }, k);

    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromB.body.message.id).not.toBe(fromA.body.message.id);
    expect(await sentLog(a.gate)).toHaveLength(1);
    expect(await sentLog(b.gate)).toHaveLength(1);
  });

  it('lets a retry with the same key send after the first attempt was refused by the network', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const k = key('refused');
    await ch.gate('POST', '/sandbox/refuse', { count: 1 });
    expect((await sendText(ch.gate, { to: RECIPIENT, body: 'try again' }, k)).status).toBe(502);
    const retry = await sendText(ch.gate, { to: RECIPIENT, body: 'try again' }, k);

    expect(retry.status).toBe(200);
    expect((await sentLog(ch.gate)).map((m) => m.body)).toEqual(['try again']);
  });

  it('sends every time without a key', async () => {
    const ch = await pairedChannel(gw.createChannel);
    await sendText(ch.gate, { to: RECIPIENT, body: 'no key' });
    await sendText(ch.gate, { to: RECIPIENT, body: 'no key' });
    expect(await sentLog(ch.gate)).toHaveLength(2);
  });
});
