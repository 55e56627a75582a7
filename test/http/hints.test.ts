import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { client } from '../support/http.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

type ErrorAnswer = { error: { code: number; message: string; details: string } };

describe('errors that tell a newcomer what to do', () => {
  it('the admin token on a gate route answers 401 with a hint that gate routes take a channel token', async () => {
    const res = await client(gw.url, ADMIN_TOKEN)<ErrorAnswer>('GET', '/health');
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('invalid or missing token');
    expect(res.body.error.details).toContain('admin token');
    expect(res.body.error.details).toContain('channel token');
    // An unknown token keeps the plain answer.
    expect((await client(gw.url, 'nobody')<ErrorAnswer>('GET', '/health')).body.error.details).toBe('the token matches no channel');
  });

  it('an unknown engine names the allowed engines, once', async () => {
    const res = await gw.partner<ErrorAnswer>('PUT', '/partner/channels', { name: 'x', engine: 'whatsmeow' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toBe('body.engine: must be one of "sandbox", "baileys"');
    expect((await gw.partner<{ total: number }>('GET', '/partner/channels/list')).body.total).toBe(0);
  });

  it('a bad `to` is described, not answered with a regular expression', async () => {
    const ch = await gw.createChannel();
    const res = await ch.gate<ErrorAnswer>('POST', '/messages/text', { to: 'alice', body: 'hi' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toBe('body.to: must be a phone number or a chat id, e.g. 61371989950 or 61371989950@s.whatsapp.net');
    expect(res.body.error.details).not.toMatch(/[\\^$]/);
  });

  it('a closed set in a query or a nested body field names its values too', async () => {
    const ch = await gw.createChannel();
    const stuck = await ch.gate<ErrorAnswer>('POST', '/sandbox/stuck', { phase: 'QR' });
    expect(stuck.body.error.details).toBe('body.phase: must be one of "INIT", "LAUNCH"');
    const mode = await ch.gate<ErrorAnswer>('PATCH', '/settings', { webhooks: [{ url: 'http://127.0.0.1:9/h', mode: 'query' }] });
    expect(mode.status).toBe(400);
    expect(mode.body.error.details).toContain('body.webhooks[0].mode: must be one of "body", "path", "method"');
    const status = await ch.gate<ErrorAnswer>('GET', '/webhooks/deliveries?status=lost');
    expect(status.status).toBe(400);
    expect(status.body.error.details).toMatch(/^querystring\.status: must be one of "pending", "delivered", "failed"/);
  });
});
