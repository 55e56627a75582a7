import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import type { Call } from '../support/http.js';
import { RECIPIENT, pairedChannel, sendText, sentLog } from './channel.js';

// Bad sends answer 400 in Whapi's error shape, name the field, and send nothing (SPEC §4, §6).

let gw: TestGateway;
let gate: Call;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
  ({ gate, token } = await pairedChannel(gw.createChannel));
});

afterAll(async () => {
  await gw?.close();
});

async function expectRejected(body: unknown, field: string): Promise<void> {
  const before = (await sentLog(gate)).length;
  const res = await gate('POST', '/messages/text', body);
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body).toMatchObject({ error: { code: 400, message: expect.any(String), details: expect.any(String) } });
  expect((res.body as { error: { details: string } }).error.details).toContain(field);
  expect(await sentLog(gate)).toHaveLength(before);
}

describe('POST /messages/text with bad input', () => {
  it.each([
    ['a word', 'hello'],
    ['too few digits', '12'],
    ['a formatted number', '+61 371'],
    ['an empty string', ''],
    ['letters in a chat id', 'abcdefghij@s.whatsapp.net'],
  ])('answers 400 naming "to" for %s', async (_what, to) => {
    await expectRejected({ to, body: 'hi' }, 'to');
  });

  it('answers 400 naming "body" for an empty body', async () => {
    await expectRejected({ to: RECIPIENT, body: '' }, 'body');
  });

  it('answers 400 naming "body" for a body over 4096 characters', async () => {
    await expectRejected({ to: RECIPIENT, body: 'x'.repeat(4097) }, 'body');
  });

  it('accepts a body of exactly 4096 characters', async () => {
    const res = await sendText(gate, { to: RECIPIENT, body: 'y'.repeat(4096) });
    expect(res.status).toBe(200);
  });

  it('answers 400 naming "to" for a number instead of a string', async () => {
    await expectRejected({ to: 123, body: 'hi' }, 'to');
  });

  it('answers 400 naming "to" for a numeric phone number sent as a JSON number', async () => {
    await expectRejected({ to: 61371989950, body: 'hi' }, 'to');
  });

  it('answers 400 naming "body" for a boolean body', async () => {
    await expectRejected({ to: RECIPIENT, body: true }, 'body');
  });

  it('answers 400 naming "body" for an object body', async () => {
    await expectRejected({ to: RECIPIENT, body: { text: 'hi' } }, 'body');
  });

  it('answers 400 naming the unknown field', async () => {
    await expectRejected({ to: RECIPIENT, body: 'hi', priority: 'high' }, 'priority');
  });

  it('answers 400 naming a missing "to"', async () => {
    await expectRejected({ body: 'hi' }, 'to');
  });

  it('answers 400 naming a missing "body"', async () => {
    await expectRejected({ to: RECIPIENT }, 'body');
  });

  it('answers 400 naming "quoted" for a malformed quoted id', async () => {
    await expectRejected({ to: RECIPIENT, body: 'hi', quoted: 'not an id!' }, 'quoted');
  });

  it('answers 400 for a JSON array instead of an object', async () => {
    await expectRejected([{ to: RECIPIENT, body: 'hi' }], 'body');
  });

  it('answers 400 for malformed JSON and sends nothing', async () => {
    const before = (await sentLog(gate)).length;
    const res = await fetch(`${gw.url}/messages/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"to": "61400111222", "body": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 400, details: expect.stringMatching(/JSON/i) } });
    expect(await sentLog(gate)).toHaveLength(before);
  });

  it('answers 400 naming the header for an empty Idempotency-Key', async () => {
    const before = (await sentLog(gate)).length;
    const res = await sendText(gate, { to: RECIPIENT, body: 'hi' }, { 'idempotency-key': '' });
    expect(res.status).toBe(400);
    expect((res.body as { error: { details: string } }).error.details).toContain('idempotency-key');
    expect(await sentLog(gate)).toHaveLength(before);
  });
});
