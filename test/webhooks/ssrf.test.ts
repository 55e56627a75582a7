import { isIPv6 } from 'node:net';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { LookupAll } from '../../src/webhooks/guard.js';
import { client, until, type Call } from '../support/http.js';
import { tempDataDir } from '../support/process.js';
import type { TestGateway } from '../support/gateway.js';
import { closeAfterEach, deliveryWhere, events, FAST, gateway, hook, receiver } from './harness.js';

// SPEC §5: cloud host services and special-purpose ranges are always refused; loopback and
// private ranges only with WAGATE_WEBHOOK_PRIVATE=deny; the gateway never dials itself; the
// check applies on save, in webhook_test and on every attempt. No packet leaves loopback: names
// resolve through a test resolver, and where a broken guard would connect, the first address
// it would take is a loopback receiver that counts connections.

closeAfterEach();

const METADATA = '169.254.169.254';

/** A resolver the test rewrites as it goes: `set('hooks.test', [...])`. */
function testDns(): { lookup: LookupAll; set(name: string, addresses: string[]): void } {
  const table = new Map<string, string[]>();
  return {
    lookup: async (hostname) => {
      const addresses = table.get(hostname);
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
    },
    set: (name, addresses) => void table.set(name, addresses),
  };
}

const literal = (ip: string, port = 8080) => `http://${isIPv6(ip) ? `[${ip}]` : ip}:${port}/hook`;

// An address in each range issue 18 added, and the rule the refusal must name.
const ALWAYS_REFUSED: Array<[string, string]> = [
  ['168.63.129.16', "Azure's host service (WireServer) (168.63.129.16/32"],
  ['192.0.0.192', "Oracle Cloud's metadata service (192.0.0.192/32"],
  ['192.0.0.9', 'IETF protocol assignments (192.0.0.0/24'],
  ['192.0.2.10', 'documentation (TEST-NET-1) (192.0.2.0/24'],
  ['198.18.0.7', 'benchmarking (198.18.0.0/15'],
  ['198.19.255.1', 'benchmarking (198.18.0.0/15'],
  ['198.51.100.20', 'documentation (TEST-NET-2) (198.51.100.0/24'],
  ['203.0.113.30', 'documentation (TEST-NET-3) (203.0.113.0/24'],
  ['240.1.2.3', 'reserved (240.0.0.0/4'],
  ['0.1.2.3', '"this network" (0.0.0.0/8) (0.0.0.0/8'],
  ['::ffff:0:a9fe:a9fe', `the cloud metadata service (AWS, GCP, Azure, OpenStack) (169.254.169.254/32, carrying IPv4 ${METADATA}`],
  ['64:ff9b:1::a9fe:a9fe', `the cloud metadata service (AWS, GCP, Azure, OpenStack) (169.254.169.254/32, carrying IPv4 ${METADATA}`],
  ['64:ff9b:1::a83f:8110', "Azure's host service (WireServer) (168.63.129.16/32, carrying IPv4 168.63.129.16"],
];
const DENY_REFUSED: Array<[string, string]> = [
  ['100.64.0.1', 'carrier-grade NAT (shared address space) (100.64.0.0/10; private targets are denied'],
  ['100.127.255.254', 'carrier-grade NAT (shared address space) (100.64.0.0/10'],
  ['fc00::1', 'unique-local (private) (fc00::/7; private targets are denied'],
  ['fd12:3456::1', 'unique-local (private) (fc00::/7'],
];

/** PATCHes one webhook, expects 400 naming `rule` at webhooks[0].url, and that nothing changed. */
async function expectPatchRefused(gate: Call, url: string, rule: string): Promise<void> {
  const res = await gate('PATCH', '/settings', { callback_backoff_delay_ms: 5000, webhooks: [{ url }] });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error).toMatchObject({ code: 400 });
  expect(res.body.error.details).toContain('webhooks[0].url: url refused: ');
  expect(res.body.error.details).toContain(rule);
  expect((await gate('GET', '/settings')).body).toMatchObject({ callback_backoff_delay_ms: 3000, webhooks: [] });
}

/** POSTs a webhook_test, expects 400 naming `rule`. */
async function expectTestRefused(gate: Call, url: string, rule: string, mode = 'body'): Promise<void> {
  const res = await gate('POST', '/settings/webhook_test', { url, type: 'channel', mode });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.details).toContain('url: url refused: ');
  expect(res.body.error.details).toContain(rule);
}

describe('the special-purpose ranges, refused in every mode', () => {
  it.each(ALWAYS_REFUSED)('PATCH /settings refuses the literal %s with 400 naming the rule, changing nothing', async (ip, rule) => {
    const gw = await gateway();
    const { gate } = await gw.createChannel({ start: false });
    await expectPatchRefused(gate, literal(ip), `${ip} is ${rule}`);
  });

  it('refuses a name resolving to each, at PATCH and webhook_test, without a connection', async () => {
    const dns = testDns();
    const r = await receiver();
    const gw = await gateway({ lookup: dns.lookup });
    const { gate } = await gw.createChannel({ start: false });
    const port = new URL(r.url).port;
    for (const [ip, rule] of ALWAYS_REFUSED) {
      // The receiver's address comes first: a guard that judged only it would connect there.
      dns.set('hooks.test', ['127.0.0.1', ip]);
      const url = `http://hooks.test:${port}/in`;
      await expectPatchRefused(gate, url, `hooks.test resolves to ${ip}, which is ${rule}`);
      await expectTestRefused(gate, url, `hooks.test resolves to ${ip}, which is ${rule}`);
    }
    expect(r.connections()).toBe(0);
    // The same name resolving to the receiver alone does connect: the count would have seen one.
    dns.set('hooks.test', ['127.0.0.1']);
    const res = await gate('POST', '/settings/webhook_test', { url: `http://hooks.test:${port}/in`, type: 'channel', mode: 'body' });
    expect(res.body).toMatchObject({ success: true, status: 200 });
    expect(r.connections()).toBe(1);
  });
});

describe('WAGATE_WEBHOOK_PRIVATE=deny', () => {
  it.each(DENY_REFUSED)('refuses %s as well, and names the setting', async (ip, rule) => {
    const dns = testDns();
    dns.set('hooks.test', [ip]);
    const denying = await gateway({ env: { WAGATE_WEBHOOK_PRIVATE: 'deny' }, lookup: dns.lookup });
    const { gate } = await denying.createChannel({ start: false });
    await expectPatchRefused(gate, literal(ip), `${ip} is ${rule}`);
    await expectPatchRefused(gate, 'https://hooks.test/in', `hooks.test resolves to ${ip}, which is ${rule}`);

    const allowing = await gateway();
    const other = await allowing.createChannel({ start: false });
    expect((await other.gate('PATCH', '/settings', { webhooks: [{ url: literal(ip) }] })).status).toBe(200);
  });
});

describe('at attempt time, a stored webhook whose name now resolves to a refused range', () => {
  it('fails with the reason in the delivery log, and never connects', async () => {
    const dns = testDns();
    const r = await receiver();
    const gw = await gateway({ lookup: dns.lookup });
    const url = `http://rebind.test:${new URL(r.url).port}/in`;
    dns.set('rebind.test', ['127.0.0.1']);
    const ch = await gw.createChannel({ start: false, sandbox: FAST, settings: { webhooks: [{ url, events: events('channel.post') }] } });
    dns.set('rebind.test', ['127.0.0.1', '198.18.0.7']);
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    const d = await deliveryWhere(ch.gate, (x) => x.url === url && x.attempts > 0, 'an attempt to the rebound name');
    expect(d.last_error).toBe('url refused: rebind.test resolves to 198.18.0.7, which is benchmarking (198.18.0.0/15)');
    expect(d.last_status).toBeNull();
    expect(r.connections()).toBe(0);
  });
});

describe("the gateway's own listen address and port", () => {
  /** A caller on one kept-alive connection, so the gateway's connection count is the test's one plus any the gateway opened to itself. */
  function oneConnection(gw: TestGateway, token: string): { call: Call; close(): Promise<void> } {
    const pool = new Client(gw.url, { keepAliveTimeout: 60_000, pipelining: 1 });
    const call: Call = async (method, path, body) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await pool.request({ method: method as 'GET', path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : text, headers: new Headers() };
    };
    return { call, close: () => pool.close() };
  }

  let connections = 0;
  const count = (gw: TestGateway) => gw.gateway.app.server.on('connection', () => (connections += 1));
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    connections = 0;
  });

  async function setUp(dns?: ReturnType<typeof testDns>): Promise<{ gw: TestGateway; gate: Call; port: string; id: string; token: string }> {
    const gw = await gateway({ lookup: dns?.lookup });
    const ch = await gw.createChannel({ start: false, sandbox: FAST });
    const { call, close } = oneConnection(gw, ch.token);
    closers.push(close);
    expect((await call('GET', '/settings')).status).toBe(200);
    count(gw);
    return { gw, gate: call, port: new URL(gw.url).port, id: ch.id, token: ch.token };
  }

  it('is refused at PATCH /settings and webhook_test in every spelling, without a connection', async () => {
    const dns = testDns();
    dns.set('me.test', ['127.0.0.1']);
    const { gate, port } = await setUp(dns);
    const own = `the gateway's own listen address (port ${port})`;
    for (const url of [`http://127.0.0.1:${port}/settings`, `http://[::ffff:127.0.0.1]:${port}/`, `http://2130706433:${port}/`]) {
      await expectPatchRefused(gate, url, `is ${own}`);
      // In method mode a channel would otherwise drive the gateway's own API with its own headers.
      await expectTestRefused(gate, url, `is ${own}`, 'method');
    }
    await expectPatchRefused(gate, `http://me.test:${port}/`, `me.test resolves to 127.0.0.1, which is ${own}`);
    await expectTestRefused(gate, `http://me.test:${port}/`, `me.test resolves to 127.0.0.1, which is ${own}`);
    expect(connections).toBe(0);
  });

  it('is refused at attempt time when a stored name comes to resolve to it, and logged', async () => {
    const dns = testDns();
    const { gw, gate, port, id } = await setUp(dns);
    // 127.0.0.2 is loopback but not where the gateway listens (127.0.0.1): accepted on save.
    dns.set('me.test', ['127.0.0.2']);
    const url = `http://me.test:${port}/in`;
    expect((await gate('PATCH', '/settings', { webhooks: [{ url, events: events('channel.post') }] })).status).toBe(200);
    dns.set('me.test', ['127.0.0.1']);
    expect((await gw.partner('POST', `/partner/channels/${id}/stop`)).status).toBe(200);
    const before = connections;
    const d = await deliveryWhere(gate, (x) => x.url === url && x.attempts > 0, 'an attempt to the gateway itself');
    expect(d.last_error).toBe(`url refused: me.test resolves to 127.0.0.1, which is the gateway's own listen address (port ${port})`);
    // The partner call opened its own connection; nothing else did.
    expect(connections).toBe(before);
  });
});

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

  it.each(['http://169.254.10.1/', 'http://[fe80::1]/', 'http://0.0.0.0:8080/', 'http://100.100.100.200/', 'http://[2001:db8::1]/'])('refuses %s even where private targets are allowed', async (url) => {
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
