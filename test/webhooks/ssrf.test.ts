import { describe, expect, it } from 'vitest';
import { client, until } from '../support/http.js';
import { tempDataDir } from '../support/process.js';
import { closeAfterEach, deliveryWhere, FAST, gateway, hook, receiver } from './harness.js';

// SPEC §5: link-local and cloud metadata addresses are always refused; private and loopback
// ranges only with WAGATE_WEBHOOK_PRIVATE=deny; the check applies on every attempt.

closeAfterEach();

const METADATA = '169.254.169.254';

describe('PATCH /settings', () => {
  it.each([
    `http://${METADATA}/x`,
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/latest/meta-data',
    'http://0xa9fea9fe/', // the WHATWG URL parser reads hex and decimal hosts as IPv4
    'http://2852039166/',
    'http://[::169.254.169.254]/', // IPv4-compatible
    'http://[64:ff9b::169.254.169.254]/', // NAT64
    'http://[2002:a9fe:a9fe::1]/', // 6to4
  ])('refuses %s with a 400 that names the metadata address, changing nothing', async (url) => {
    const gw = await gateway();
    const { gate } = await gw.createChannel({ start: false });
    const res = await gate('PATCH', '/settings', { callback_backoff_delay_ms: 5000, webhooks: [{ url }] });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContain('webhooks[0].url');
    expect(res.body.error.details).toContain(METADATA);
    expect((await gate('GET', '/settings')).body).toMatchObject({ callback_backoff_delay_ms: 3000, webhooks: [] });
  });

  it.each(['http://169.254.10.1/', 'http://[fe80::1]/', 'http://0.0.0.0:8080/', 'http://100.100.100.200/'])('refuses %s even where private targets are allowed', async (url) => {
    const gw = await gateway();
    const { gate } = await gw.createChannel({ start: false });
    const res = await gate('PATCH', '/settings', { webhooks: [{ url }] });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
  });

  it('accepts loopback and private targets by default', async () => {
    const gw = await gateway();
    const { gate } = await gw.createChannel({ start: false });
    for (const url of ['http://127.0.0.1:9/', 'http://10.1.2.3/', 'http://192.168.1.1/', 'http://localhost:9/']) {
      const res = await gate('PATCH', '/settings', { webhooks: [{ url }] });
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it('refuses loopback and private targets with WAGATE_WEBHOOK_PRIVATE=deny', async () => {
    const gw = await gateway({ env: { WAGATE_WEBHOOK_PRIVATE: 'deny' } });
    const r = await receiver();
    const { gate } = await gw.createChannel({ start: false });
    const port = new URL(r.url).port;
    for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`, 'http://10.1.2.3/', 'http://[::1]:9/']) {
      const res = await gate('PATCH', '/settings', { webhooks: [{ url }] });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details).toMatch(/loopback|private/);
    }
    expect((await gate('GET', '/settings')).body.webhooks).toEqual([]);
  });
});

describe('POST /settings/webhook_test', () => {
  it('refuses the metadata address without sending anything', async () => {
    const gw = await gateway();
    const { gate } = await gw.createChannel({ start: false });
    const res = await gate('POST', '/settings/webhook_test', { url: `http://${METADATA}/`, type: 'channel', mode: 'body' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toContain(METADATA);
  });
});

describe('at attempt time', () => {
  it('refuses a stored loopback webhook once the gateway runs with WAGATE_WEBHOOK_PRIVATE=deny, and logs why', async () => {
    const dataDir = tempDataDir();
    const r = await receiver();
    const allowing = await gateway({ env: { WAGATE_DATA_DIR: dataDir } });
    const byName = `http://localhost:${new URL(r.url).port}/by-name`;
    const webhooks = [hook(r), hook(r, { url: byName })];
    const ch = await allowing.createChannel({ sandbox: FAST, settings: { webhooks } });
    await until(() => r.received.length >= 6, 'INIT, LAUNCH and QR twice while private targets are allowed');
    await allowing.close();
    const before = r.received.length;

    // The same channel, its webhook unchanged, under a gateway that denies private targets:
    // it resumes on boot and its new events meet the guard at the connection.
    const denying = await gateway({ env: { WAGATE_DATA_DIR: dataDir, WAGATE_WEBHOOK_PRIVATE: 'deny' } });
    const gate = client(denying.url, ch.token);
    const literal = await deliveryWhere(gate, (d) => d.url === `${r.url}/hook` && d.attempts > 0 && d.status === 'pending', 'an attempt to the IP');
    expect(literal.last_error).toMatch(/refused: 127\.0\.0\.1 is loopback/);
    expect(literal.last_error).toContain('WAGATE_WEBHOOK_PRIVATE=deny');
    expect(literal.last_status).toBeNull();
    // A hostname is resolved and checked at the connection: every address it has is judged.
    const named = await deliveryWhere(gate, (d) => d.url === byName && d.attempts > 0 && d.status === 'pending', 'an attempt to the name');
    expect(named.last_error).toMatch(/localhost resolves to (127\.0\.0\.1|::1), which is loopback/);
    expect(r.received).toHaveLength(before);
  });
});

describe('PUT /partner/channels', () => {
  // The same URL that PATCH /settings refuses must not get in through the creation body.
  it('refuses a metadata webhook URL in the settings of a new channel, as PATCH /settings does', async () => {
    const gw = await gateway();
    const res = await gw.partner('PUT', '/partner/channels', { name: 'x', engine: 'sandbox', start: false, settings: { webhooks: [{ url: `http://${METADATA}/x` }] } });
    expect(res.status, `creation answered ${res.status}, channel ${String(res.body.id)}`).toBe(400);
    expect(res.body.error.details).toContain(METADATA);
  });
});
