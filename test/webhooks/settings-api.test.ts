import { randomBytes } from 'node:crypto';
import { SETTINGS_DEFAULTS } from '@wagate/protocol';
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Call } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { closeAfterEach, deliveries, events, gateway, receiver } from './harness.js';

// SPEC §5 settings: GET/PATCH/DELETE /settings, GET /settings/events, POST /settings/webhook_test.

closeAfterEach();

const whapiSettings = whapiValidator('Settings');
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let gate: Call;
let malformed: (body: string) => Promise<number>;

beforeEach(async () => {
  const gw = await gateway();
  const ch = await gw.createChannel({ start: false });
  gate = ch.gate;
  malformed = async (body) => {
    const headers = { authorization: `Bearer ${ch.token}`, 'content-type': 'application/json' };
    return (await fetch(`${gw.url}/settings`, { method: 'PATCH', headers, body })).status;
  };
});

/** Whapi's settings fields wagate accepts without acting on them, as GET /settings lists them. */
const WITHOUT_EFFECT = ['media', 'mobile_proxy', 'offline_mode', 'full_history', 'on_call_pager', 'pass_through', 'sent_status'];

/** GET /settings, without the `accepted_without_effect` list (checked here on every read). */
async function settings(): Promise<Record<string, unknown>> {
  const res = await gate('GET', '/settings');
  expect(res.status).toBe(200);
  const { accepted_without_effect, ...rest } = res.body as Record<string, unknown>;
  expect(accepted_without_effect).toEqual(WITHOUT_EFFECT);
  return rest;
}

/** PATCHes `body`, expects 400 naming `field`, and checks nothing changed. */
async function expectRefused(body: unknown, field: string): Promise<void> {
  const before = await settings();
  const res = await gate('PATCH', '/settings', body);
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe(400);
  expect(res.body.error.details).toContain(field);
  expect(await settings()).toEqual(before);
}

describe('GET /settings', () => {
  it("answers the defaults, in a shape Whapi's Settings schema accepts", async () => {
    const body = (await gate('GET', '/settings')).body;
    expect(body).toEqual({ ...SETTINGS_DEFAULTS, accepted_without_effect: WITHOUT_EFFECT });
    expect(whapiSettings(body), JSON.stringify(whapiSettings.errors)).toBe(true);
  });
});

describe('PATCH /settings', () => {
  it('answers before_update, after_update and changes, and keeps what it answered', async () => {
    const url = 'http://127.0.0.1:9/hook';
    const res = await gate('PATCH', '/settings', { callback_backoff_delay_ms: 5000, webhooks: [{ url, events: [{ type: 'channels', method: 'post' }] }] });
    expect(res.status).toBe(200);
    expect(res.body.before_update).toEqual(SETTINGS_DEFAULTS);
    expect(res.body.after_update).toEqual({
      ...SETTINGS_DEFAULTS,
      callback_backoff_delay_ms: 5000,
      webhooks: [{ url, events: [{ type: 'channel', method: 'post' }], mode: 'body', headers: {}, webhook_max_age_seconds: 172800, ordered: true }],
    });
    expect([...res.body.changes].sort()).toEqual(['callback_backoff_delay_ms', 'webhooks']);
    expect(await settings()).toEqual(res.body.after_update);
    expect(whapiSettings(res.body.after_update), JSON.stringify(whapiSettings.errors)).toBe(true);
  });

  it('leaves absent fields unchanged and lists only what changed', async () => {
    await gate('PATCH', '/settings', { webhooks: [{ url: 'http://127.0.0.1:9/a', events: events('channel.post') }] });
    const before = await settings();
    const res = await gate('PATCH', '/settings', { callback_persist: false, callback_backoff_delay_ms: 3000 });
    expect(res.status).toBe(200);
    expect(res.body.changes).toEqual(['callback_persist']);
    expect(await settings()).toEqual({ ...before, callback_persist: false });
  });

  it.each([
    [{ callback_backoff_delay_ms: 2999 }, 'callback_backoff_delay_ms'],
    [{ callback_backoff_delay_ms: 15001 }, 'callback_backoff_delay_ms'],
    [{ max_callback_backoff_delay_ms: 599999 }, 'max_callback_backoff_delay_ms'],
    [{ max_callback_backoff_delay_ms: 3600001 }, 'max_callback_backoff_delay_ms'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', webhook_max_age_seconds: 14 }] }, 'webhook_max_age_seconds'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', webhook_max_age_seconds: 172801 }] }, 'webhook_max_age_seconds'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', headers: { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' } }] }, 'headers'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', mode: 'query' }] }, 'mode'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', events: [{ type: 'bogus', method: 'post' }] }] }, 'type'],
    [{ webhooks: [{ url: 'ftp://127.0.0.1/' }] }, 'url'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', secret: 'not-a-secret' }] }, 'secret'],
    [{ webhooks: [{ url: 'http://127.0.0.1:9/', headers: { 'webhook-id': 'x' } }] }, 'webhook-id'],
    [{ callback_backoff_delay_ms: '5000' }, 'callback_backoff_delay_ms'],
  ])('refuses %j with a 400 that names %s, changing nothing', async (body, field) => {
    await gate('PATCH', '/settings', { callback_backoff_delay_ms: 7000 });
    await expectRefused(body, field);
  });

  it('refuses unknown fields, at the top and inside a webhook', async () => {
    await expectRefused({ colour: 'red' }, 'colour');
    await expectRefused({ webhooks: [{ url: 'http://127.0.0.1:9/', colour: 'red' }] }, 'colour');
  });

  it('changes nothing when one field of a patch is bad', async () => {
    await expectRefused({ callback_backoff_delay_ms: 9000, webhooks: [{ url: 'not a url' }] }, 'url');
    expect(await malformed('{"callback_backoff_delay_ms": 9000')).toBe(400);
    expect(await malformed('[{"callback_backoff_delay_ms": 9000}]')).toBe(400);
    expect(await settings()).toEqual(SETTINGS_DEFAULTS);
  });

  it('accepts 10 webhooks per channel and refuses the 11th with a 400, changing nothing', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ url: `http://127.0.0.1:9/hook${i}` }));
    const ok = await gate('PATCH', '/settings', { webhooks: many(10) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await settings()).webhooks).toHaveLength(10);
    await expectRefused({ webhooks: many(11) }, 'at most 10 webhooks per channel');
  });

  it("refuses a webhook whose headers' names and values exceed 8192 bytes together", async () => {
    const value = 'v'.repeat(2000);
    const headers = { 'x-a': value, 'x-b': value, 'x-c': value, 'x-d': value, 'x-e': 'é'.repeat(100) };
    await expectRefused({ webhooks: [{ url: 'http://127.0.0.1:9/', headers }] }, 'webhooks[0].headers: at most 8192 bytes');
    const fits = { ...headers, 'x-e': 'e'.repeat(100) };
    expect((await gate('PATCH', '/settings', { webhooks: [{ url: 'http://127.0.0.1:9/', headers: fits }] })).status).toBe(200);
  });

  // Issue 11, finding 8: such a value was stored, then every delivery failed (UND_ERR_INVALID_ARG).
  it.each([
    ['a control character', 'tenant\x01'],
    ['text outside Latin-1', 'prix 10€'],
    ['a line break', 'a\r\nInjected: 1'],
  ])('refuses a header value with %s, naming the header', async (_what, value) => {
    await expectRefused({ webhooks: [{ url: 'http://127.0.0.1:9/', headers: { 'X-Tenant': value } }] }, 'webhooks[0].headers.X-Tenant: value contains');
  });

  it('stores a url trimmed of the spaces around it, and refuses one with spaces inside', async () => {
    const res = await gate('PATCH', '/settings', { webhooks: [{ url: '  http://127.0.0.1:9/in  ' }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.after_update.webhooks[0].url).toBe('http://127.0.0.1:9/in');
    expect(((await settings()).webhooks as Array<{ url: string }>)[0]!.url).toBe('http://127.0.0.1:9/in');
    await expectRefused({ webhooks: [{ url: 'http://127.0.0.1:9/a b' }] }, 'webhooks[0].url: must not contain a space');
  });

  it('stores the seed spelling `channels` as `channel`', async () => {
    const res = await gate('PATCH', '/settings', { webhooks: [{ url: 'http://127.0.0.1:9/', events: [{ type: 'channels', method: 'post' }, { type: 'channels', method: 'patch' }] }] });
    expect(res.status).toBe(200);
    expect(((await settings()).webhooks as Array<{ events: unknown }>)[0]!.events).toEqual(events('channel.post', 'channel.patch'));
  });
});

describe('DELETE /settings', () => {
  it('resets every field to its default', async () => {
    await gate('PATCH', '/settings', { callback_backoff_delay_ms: 9000, send_hold_ms: 0, webhooks: [{ url: 'http://127.0.0.1:9/' }] });
    const res = await gate('DELETE', '/settings');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect(await settings()).toEqual(SETTINGS_DEFAULTS);
  });

  it('answers 409 "Settings already reset" when nothing differs from the defaults', async () => {
    await gate('PATCH', '/settings', { send_hold_ms: 0 });
    expect((await gate('DELETE', '/settings')).status).toBe(200);
    const again = await gate('DELETE', '/settings');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe('Settings already reset');
    expect(await settings()).toEqual(SETTINGS_DEFAULTS);
  });
});

describe('GET /settings/events', () => {
  it("lists every event wagate sends of Whapi's types, and alerts only with extensions=true", async () => {
    const names = async (path: string): Promise<string[]> => {
      const res = await gate('GET', path);
      expect(res.status).toBe(200);
      return (res.body as Array<{ type: string; method: string }>).map((e) => `${e.type}.${e.method}`).sort();
    };
    const whapi = ['channel.patch', 'channel.post', 'messages.patch', 'messages.post', 'statuses.post', 'users.delete', 'users.post'];
    expect(await names('/settings/events')).toEqual(whapi);
    expect(await names('/settings/events?extensions=true')).toEqual(['alerts.post', ...whapi]);
    expect((await gate('GET', '/settings/events?extensions=maybe')).status).toBe(400);
  });
});

describe('POST /settings/webhook_test', () => {
  it('delivers a signed test event with the given headers, outside the delivery log', async () => {
    const r = await receiver();
    const res = await gate('POST', '/settings/webhook_test', { url: `${r.url}/test`, type: 'channels', mode: 'path', secret: SECRET, headers: { 'X-Check': 'yes' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ success: true, status: 200 });
    expect(r.received).toHaveLength(1);
    const [sent] = r.received;
    expect(sent!.method).toBe('POST');
    expect(sent!.path).toBe('/test/channel/post');
    expect(sent!.headers['x-check']).toBe('yes');
    expect(sent!.headers['webhook-id']).toBe(res.body.webhook_id);
    const headers = Object.fromEntries(Object.entries(sent!.headers).map(([k, v]) => [k, String(v)]));
    expect(new Webhook(SECRET).verify(sent!.body, headers)).toEqual(sent!.json);
    expect(sent!.json).toMatchObject({ event: { type: 'channel', event: 'post' }, test: true });
    expect((await deliveries(gate)).total).toBe(0);
  });

  it("answers the receiver's failure instead of hiding it", async () => {
    const r = await receiver();
    r.respond({ status: 500 });
    const res = await gate('POST', '/settings/webhook_test', { url: `${r.url}/test`, type: 'channel', mode: 'body' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: false, status: 500 });
  });

  // The same rules as PATCH /settings (issue 11, finding 8): it accepted `user:pw@` URLs.
  it.each([
    [{ url: 'http://user:pw@127.0.0.1:9/' }, 'url: must not contain credentials'],
    [{ url: 'http://127.0.0.1:9/', headers: { 'X-Tenant': 'tenant\x01' } }, 'headers.X-Tenant: value contains U+0001'],
    [{ url: 'http://127.0.0.1:9/', headers: { 'X-Tenant': '名前' } }, 'headers.X-Tenant: value contains "名" (U+540D)'],
    [{ url: 'http://127.0.0.1:9/', headers: { 'Webhook-Id': 'mine' } }, 'headers.Webhook-Id: set by wagate'],
    [{ url: 'http://127.0.0.1:9/a\tb' }, 'url: must not contain U+0009'],
    [{ url: 'http://127.0.0.1:9/', headers: { 'x-a': 'v'.repeat(4096), 'x-b': 'v'.repeat(4096) } }, 'headers: at most 8192 bytes'],
  ])('refuses %j as PATCH /settings would, sending nothing', async (body, details) => {
    const r = await receiver();
    const res = await gate('POST', '/settings/webhook_test', { type: 'channel', mode: 'body', ...body, url: body.url.replace('127.0.0.1:9', new URL(r.url).host) });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toMatchObject({ code: 400 });
    expect(res.body.error.details).toContain(details);
    expect(r.received).toHaveLength(0);
  });

  it('trims the url as PATCH /settings does', async () => {
    const r = await receiver();
    const res = await gate('POST', '/settings/webhook_test', { url: `  ${r.url}/test `, type: 'channel', mode: 'body' });
    expect(res.body).toMatchObject({ success: true, status: 200 });
    expect(r.received.map((x) => x.path)).toEqual(['/test']);
  });

  it('refuses a body without url or with an unknown mode', async () => {
    expect((await gate('POST', '/settings/webhook_test', { type: 'channel', mode: 'body' })).status).toBe(400);
    const res = await gate('POST', '/settings/webhook_test', { url: 'http://127.0.0.1:9/', type: 'channel', mode: 'query' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContain('mode');
  });
});
