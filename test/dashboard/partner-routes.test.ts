import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { client, until, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

interface ErrorAnswer {
  error: { code: number; message: string; details?: string };
}

/**
 * The per-channel partner routes the dashboard uses: the gate API's reads and actions by
 * channel id, with the admin token, answering what the gate route answers.
 */
describe('partner routes by channel id', () => {
  let gw: TestGateway;
  let receiver: Receiver;
  let ch: { id: string; token: string; gate: Call };
  let other: { id: string; token: string; gate: Call };
  const base = () => `/partner/channels/${ch.id}`;
  const statusOf = async (id: string): Promise<string> => (await gw.partner('GET', `/partner/channels/${id}`)).body.status.text;

  const ROUTES: Array<[string, string]> = [
    ['GET', '/qr'],
    ['GET', '/login/61371989950'],
    ['GET', '/history'],
    ['GET', '/timeline'],
    ['GET', '/settings'],
    ['PATCH', '/settings'],
    ['GET', '/settings/events'],
    ['GET', '/deliveries'],
    ['POST', '/deliveries/1/replay'],
    ['POST', '/sandbox/blip'],
  ];

  beforeAll(async () => {
    gw = await startTestGateway();
    receiver = await startReceiver();
    ch = await gw.createChannel({ name: 'routes' });
    other = await gw.createChannel({ name: 'other' });
    await until(async () => (await statusOf(ch.id)) === 'QR', 'QR');
  });

  afterAll(async () => {
    await receiver?.close();
    await gw?.close();
  });

  it.each(ROUTES)('%s %s refuses a missing token (401) and a channel token (403)', async (method, path) => {
    const anonymous = await client(gw.url)<ErrorAnswer>(method, `${base()}${path}`, method === 'PATCH' ? {} : undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe(401);
    const byChannel = await ch.gate<ErrorAnswer>(method, `${base()}${path}`, method === 'PATCH' ? {} : undefined);
    expect(byChannel.status).toBe(403);
    expect(byChannel.body.error.message).toBe('admin token required');
  });

  it.each(ROUTES)('%s %s answers 404 in the error shape for a channel that does not exist', async (method, path) => {
    const res = await gw.partner<ErrorAnswer>(method, `/partner/channels/NOSUCH-CHANL${path}`, method === 'PATCH' ? {} : undefined);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 404, message: 'not found' });
  });

  it('answers the QR with its PNG, as GET /users/login does', async () => {
    const qr = await gw.partner('GET', `${base()}/qr?wakeup=false`);
    expect(qr.status).toBe(200);
    expect(qr.body).toMatchObject({ status: 'OK', base64: expect.stringMatching(/^data:image\/png;base64,/), expire: expect.any(Number) });
    const gate = await ch.gate('GET', '/users/login?wakeup=false');
    expect(gate.body.rowdata).toBe(qr.body.rowdata);
  });

  it('answers a pairing code, and 400 "Invalid phone number" for a bad one', async () => {
    expect((await gw.partner('GET', `${base()}/login/61371989950`)).body.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const bad = await gw.partner<ErrorAnswer>('GET', `${base()}/login/+61%20371`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('Invalid phone number');
  });

  it('runs sandbox controls with the gate route body schemas, and 409 when the control does not apply', async () => {
    const early = await gw.partner<ErrorAnswer>('POST', `${base()}/sandbox/blip`, {});
    expect(early.status).toBe(409);
    const wrong = await gw.partner<ErrorAnswer>('POST', `${base()}/sandbox/blip`, { duration_ms: '300' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toContain('body.duration_ms');
    const unknown = await gw.partner<ErrorAnswer>('POST', `${base()}/sandbox/scan`, { surprise: 1 });
    expect(unknown.body.error.details).toContain('unknown field "surprise"');

    const scan = await gw.partner('POST', `${base()}/sandbox/scan`, { user: { id: '61371989950', name: 'Desk' } });
    expect(scan.body).toEqual({ success: true, user: { id: '61371989950', name: 'Desk' } });
    expect((await ch.gate('GET', '/health?wakeup=false')).body.status.text).toBe('AUTH');
    const qr = await gw.partner<ErrorAnswer>('GET', `${base()}/qr`);
    expect(qr.status).toBe(409);
    expect(qr.body.error.message).toBe('Channel already authenticated');
  });

  it('refuses sandbox controls on a channel of another engine (404)', async () => {
    const res = await gw.partner('PUT', '/partner/channels', { name: 'real', engine: 'baileys', start: false });
    const answer = await gw.partner<ErrorAnswer>('POST', `/partner/channels/${res.body.id}/sandbox/scan`, {});
    expect(answer.status).toBe(404);
    expect(answer.body.error.details).toContain('only on sandbox channels');
  });

  it('answers the 24-hour timeline: segments that cover the window, uptime and drops', async () => {
    await gw.partner('POST', `${base()}/sandbox/blip`, { duration_ms: 200 });
    await until(async () => (await ch.gate('GET', '/health/history?count=1')).body.history[0]?.reason === 'reconnected', 'the reconnect');
    const t = (await gw.partner('GET', `${base()}/timeline`)).body;
    expect(t.segments[0].from).toBe(t.since);
    expect(t.segments.at(-1).to).toBe(t.until);
    for (let i = 1; i < t.segments.length; i++) expect(t.segments[i].from).toBe(t.segments[i - 1].to);
    expect(t.segments.map((s: { status: string }) => s.status).slice(-4)).toEqual(['AUTH', 'INIT', 'LAUNCH', 'AUTH']);
    expect(t.drops).toBe(1);
    expect(t.uptime).toBeGreaterThan(0);
    expect(t.uptime).toBeLessThan(1);

    const h = (await gw.partner('GET', `${base()}/history?since=${t.since}`)).body;
    expect(h.history.map((e: { reason: string }) => e.reason)).toContain('connection_lost');
    expect(h.history[0].at).toBeLessThanOrEqual(h.history.at(-1).at);
  });

  it('reads and patches the same settings the gate API sees', async () => {
    const patch = await gw.partner('PATCH', `${base()}/settings`, { webhooks: [{ url: `${receiver.url}/in`, events: [{ type: 'channels', method: 'post' }] }] });
    expect(patch.status).toBe(200);
    expect(patch.body.changes).toContain('webhooks');
    const gate = (await ch.gate('GET', '/settings')).body;
    expect(gate.webhooks[0]).toMatchObject({ url: `${receiver.url}/in`, events: [{ type: 'channel', method: 'post' }] });
    expect((await gw.partner('GET', `${base()}/settings`)).body).toEqual(gate);

    const bad = await gw.partner<ErrorAnswer>('PATCH', `${base()}/settings`, { callback_backoff_delay_ms: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toContain('callback_backoff_delay_ms');
    expect((await gw.partner('GET', `${base()}/settings/events`)).body).toEqual((await ch.gate('GET', '/settings/events')).body);
  });

  it("lists deliveries and replays one, but never another channel's", async () => {
    await gw.partner('POST', `${base()}/sandbox/blip`, { duration_ms: 200 });
    await until(async () => (await gw.partner('GET', `${base()}/deliveries?status=delivered`)).body.total >= 3, 'three deliveries');
    const list = (await gw.partner('GET', `${base()}/deliveries?count=2`)).body;
    expect(list).toMatchObject({ count: 2, offset: 0 });
    expect(list).toEqual((await ch.gate('GET', '/webhooks/deliveries?count=2')).body);

    const original = list.deliveries[0];
    const copy = await gw.partner('POST', `${base()}/deliveries/${original.id}/replay`);
    expect(copy.status).toBe(200);
    expect(copy.body).toMatchObject({ replay_of: original.id, webhook_id: original.webhook_id, status: 'pending' });

    const foreign = await gw.partner<ErrorAnswer>('POST', `/partner/channels/${other.id}/deliveries/${original.id}/replay`);
    expect(foreign.status).toBe(404);
  });
});
