import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Answer, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { whapiDoc, whapiValidator } from '../support/whapi.js';
import { pairedChannel, RECIPIENT, RECIPIENT_CHAT, sentLog } from '../messages/channel.js';

// The eight differences an independent check of wagate against Whapi's OpenAPI document found
// (issue 14), each asserted against Whapi's own schemas.

const responseError = whapiValidator('ResponseError');
const responseSuccess = whapiValidator('ResponseSuccess');
const settingsSchema = whapiValidator('Settings');
const updateSettings = whapiValidator('UpdateSettings');
const eventsSchema = whapiValidator('Events');
const sentMessage = whapiValidator('SentMessage');
const messagesList = whapiValidator('MessagesList');
const whapiMessage = whapiValidator('Message');

function expectValid(validate: ValidateFunction, body: unknown): void {
  expect(validate(body), `${JSON.stringify(body)}\n${JSON.stringify(validate.errors, null, 1)}`).toBe(true);
}

function expectError(res: Answer, status: number, details?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expectValid(responseError, res.body);
  if (details) expect((res.body as { error: { details: string } }).error.details).toContain(details);
}

let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  gw = await startTestGateway();
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await gw?.close();
});

describe('PATCH /settings takes every field of Whapi\'s Settings schema', () => {
  it("accepts Whapi's own example body and says which fields have no effect", async () => {
    const { gate } = await gw.createChannel({ start: false });
    // Whapi's example (requestBodies.UpdateSettings), its placeholder URL replaced by a real receiver.
    const example = structuredClone((whapiDoc() as unknown as { components: { requestBodies: Record<string, { content: Record<string, { example: Record<string, unknown> }> }> } })
      .components.requestBodies.UpdateSettings!.content['application/json']!.example);
    (example.webhooks as Array<{ url: string }>)[0]!.url = `${receiver.url}/hook`;
    const res = await gate('PATCH', '/settings', { ...example, offline_mode: true, full_history: false, mobile_proxy: '' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.after_update.webhooks[0]).toMatchObject({ url: `${receiver.url}/hook`, mode: 'method', events: [{ type: 'statuses', method: 'put' }, { type: 'chats', method: 'put' }] });
    expect(res.body.after_update.proxy).toBe(example.proxy);
    expectValid(settingsSchema, res.body.after_update);
    const settings = await gate('GET', '/settings');
    expectValid(settingsSchema, settings.body);
    expect(settings.body.accepted_without_effect).toEqual(expect.arrayContaining(['media', 'offline_mode', 'full_history', 'pass_through', 'sent_status', 'on_call_pager', 'mobile_proxy']));
    expect(settings.body).not.toHaveProperty('offline_mode');
  });

  it('still refuses a wrong type in a Whapi field, and unknown fields', async () => {
    const { gate } = await gw.createChannel({ start: false });
    expectError(await gate('PATCH', '/settings', { offline_mode: 'yes' }), 400, 'offline_mode');
    expectError(await gate('PATCH', '/settings', { media: { auto_download: ['hologram'] } }), 400, 'media');
    expectError(await gate('PATCH', '/settings', { colour: 'red' }), 400, 'colour');
  });

  it('answers a patch of honoured fields in the shape of UpdateSettings', async () => {
    const { gate } = await gw.createChannel({ start: false });
    const res = await gate('PATCH', '/settings', { callback_persist: false, pass_through: true });
    expect(res.status).toBe(200);
    expect(res.body.changes).toEqual(['callback_persist']);
    expectValid(updateSettings, res.body);
  });
});

describe('DELETE /settings', () => {
  it('answers ResponseSuccess, then 409 "Settings already reset"', async () => {
    const { gate } = await gw.createChannel({ start: false });
    await gate('PATCH', '/settings', { callback_persist: false });
    const first = await gate('DELETE', '/settings');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ success: true });
    expectValid(responseSuccess, first.body);
    const second = await gate('DELETE', '/settings');
    expectError(second, 409);
    expect(second.body.error.message).toBe('Settings already reset');
  });
});

describe('POST /settings/webhook_test', () => {
  it('answers ResponseSuccess with the attempt as extra fields, and sends the event in its own shape', async () => {
    const { gate } = await gw.createChannel({ start: false });
    const payload = whapiValidator('WebhookPayload');
    for (const type of ['messages', 'statuses', 'channel', 'users', 'chats'] as const) {
      const before = receiver.received.length;
      const res = await gate('POST', '/settings/webhook_test', { url: `${receiver.url}/test`, type, mode: 'body' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expectValid(responseSuccess, res.body);
      expect(res.body).toMatchObject({ success: true, status: 200, webhook_id: expect.stringMatching(/^test_/) });
      expect(res.body).not.toHaveProperty('ok');
      await until(() => receiver.received.length > before, `the ${type} test delivery`);
      const sent = receiver.received[before]!.json;
      expectValid(payload, sent);
      expect(sent.event).toEqual({ type, event: 'post' });
      const key = { messages: 'messages', statuses: 'statuses', channel: 'health', users: 'user', chats: 'chats' }[type];
      expect(sent, type).toHaveProperty(key);
      if (type === 'messages') {
        expect(sent).not.toHaveProperty('health');
        expectValid(whapiMessage, (sent.messages as unknown[])[0]);
      }
    }
  });
});

describe('GET /settings/events', () => {
  it("answers only Whapi's event types, so a Whapi-typed client accepts it", async () => {
    const { gate } = await gw.createChannel({ start: false });
    const res = await gate('GET', '/settings/events');
    expectValid(eventsSchema, res.body);
    expect((res.body as Array<{ type: string }>).some((e) => e.type === 'alerts')).toBe(false);
    const all = await gate('GET', '/settings/events?extensions=true');
    expect((all.body as Array<{ type: string }>).some((e) => e.type === 'alerts')).toBe(true);
  });
});

describe('GET /messages/list honours sort and author', () => {
  let gate: Call;
  beforeAll(async () => {
    ({ gate } = await pairedChannel(gw.createChannel));
    for (const [from, body] of [['61400000001', 'one'], ['61400000002', 'two'], ['61400000001', 'three']]) {
      expect((await gate('POST', '/sandbox/inbound', { from, body })).status).toBe(200);
    }
    await until(async () => (await gate('GET', '/messages/list')).body.total === 3, 'three inbound messages');
  });

  it('lists oldest first with sort=asc and newest first by default', async () => {
    const bodies = async (q: string) => ((await gate('GET', `/messages/list${q}`)).body.messages as Array<{ text: { body: string } }>).map((m) => m.text.body);
    expect(await bodies('?sort=asc')).toEqual(['one', 'two', 'three']);
    expect(await bodies('')).toEqual(['three', 'two', 'one']);
    expect(await bodies('?sort=desc')).toEqual(['three', 'two', 'one']);
    const asc = await gate('GET', '/messages/list?sort=asc');
    expectValid(messagesList, asc.body);
  });

  it('filters by author, as digits or a chat id', async () => {
    const of = async (q: string) => ((await gate('GET', `/messages/list?${q}`)).body.messages as Array<{ from: string }>).map((m) => m.from);
    expect(await of('author=61400000001')).toEqual(['61400000001', '61400000001']);
    expect(await of('author=61400000002@s.whatsapp.net')).toEqual(['61400000002']);
    expect(await of('author=61499999999')).toEqual([]);
  });

  it('refuses a sort that is neither asc nor desc', async () => {
    expectError(await gate('GET', '/messages/list?sort=bogus'), 400, 'sort');
    expectError(await gate('GET', '/messages/list?author=abc'), 400, 'author');
  });
});

describe('POST /messages/text', () => {
  let ch: { id: string; token: string; gate: Call };
  beforeAll(async () => {
    ch = await pairedChannel(gw.createChannel);
  });

  /** Posts a multipart/form-data body. */
  const form = async (path: string, fields: Record<string, string | string[]>): Promise<Answer<any>> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const data = new FormData();
    for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) data.append(k, one);
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ch.token}` }, body: data });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };

  it('takes multipart/form-data as Whapi declares, fields read by their types', async () => {
    const res = await form('/messages/text', { to: RECIPIENT, body: 'from a form', no_link_preview: 'true', mentions: ['61400000001', '61400000002'] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectValid(sentMessage, res.body);
    expect(res.body.message).toMatchObject({ chat_id: RECIPIENT_CHAT, text: { body: 'from a form' }, context: { mentions: ['61400000001', '61400000002'] } });
    expect((await sentLog(ch.gate)).at(-1)).toMatchObject({ id: res.body.message.id, body: 'from a form' });
  });

  it('refuses a bad multipart field as it refuses bad JSON, sending nothing', async () => {
    const before = (await sentLog(ch.gate)).length;
    expectError(await form('/messages/text', { to: RECIPIENT, body: 'x', no_link_preview: 'perhaps' }), 400, 'no_link_preview');
    expectError(await form('/messages/text', { to: RECIPIENT, surprise: 'x', body: 'x' }), 400, 'surprise');
    expect(await sentLog(ch.gate)).toHaveLength(before);
  });

  it('edits a sent text with `edit`: same id, new text, messages.patch', async () => {
    const sent = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'befor' });
    const id = sent.body.message.id as string;
    const edited = await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'before', edit: id });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expectValid(sentMessage, edited.body);
    expect(edited.body.message).toMatchObject({ id, text: { body: 'before' }, edited_at: expect.any(Number) });
    expect((await ch.gate('GET', `/messages/${id}`)).body.text.body).toBe('before');
    expect((await sentLog(ch.gate)).at(-1)).toMatchObject({ body: 'before', edit: id });
    const events = await ch.gate('GET', '/messages/list?count=500');
    expect(events.body.messages.filter((m: { id: string }) => m.id === id)).toHaveLength(1);
  });

  it('refuses to edit a message that is not there or not ours', async () => {
    expectError(await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'x', edit: 'AbCdEfGhIjKlMnOp-QrStUvWx' }), 404);
    const inbound = await ch.gate('POST', '/sandbox/inbound', { from: RECIPIENT, body: 'theirs' });
    await until(async () => (await ch.gate('GET', `/messages/${inbound.body.message_id}`)).status === 200, 'the inbound message');
    expectError(await ch.gate('POST', '/messages/text', { to: RECIPIENT, body: 'x', edit: inbound.body.message_id }), 400, 'edit');
  });
});

describe("Whapi routes wagate does not implement", () => {
  it('answer 404 "not implemented by wagate", never 405', async () => {
    const { gate } = await gw.createChannel({ start: false });
    const ours = ((await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> }).paths;
    const shape = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
    const implemented = new Set(Object.entries(ours).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${shape(p)}`)));
    const checked: string[] = [];
    for (const [path, ops] of Object.entries(whapiDoc().paths)) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete'].filter((m) => ops[m])) {
        if (implemented.has(`${method.toUpperCase()} ${shape(path)}`)) continue;
        const concrete = path.replace(/\{[^}]+\}/g, 'AbCdEfGhIjKl-0123');
        const res = await gate(method.toUpperCase(), concrete, method === 'get' || method === 'delete' ? undefined : {});
        expect(res.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(res.body)}`).not.toBe(405);
        // A path that also matches a route wagate has (GET /messages/{MessageID} for POST /messages/image's twin) is fine as 404 too.
        expectError(res, 404, 'not implemented by wagate');
        checked.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(checked).toContain('POST /messages/poll');
    expect(checked).toContain('GET /groups');
    expect(checked.length).toBeGreaterThan(50);
  });
});
