import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';

// The SSRF guard on the proxy setting (SPEC §11): refused hosts answer 400 at PATCH /settings and
// are never dialled; connect errors through a proxy reach a channel token only as "proxy unreachable".

let gw: TestGateway | null = null;
let listener: { server: Server; port: number; connections: number } | null = null;
afterEach(async () => {
  await gw?.close();
  gw = null;
  await new Promise<void>((r) => (listener ? listener.server.close(() => r()) : r()));
  listener = null;
});

/** A loopback TCP listener that counts the connections it gets (and answers nothing). */
async function countingListener(): Promise<NonNullable<typeof listener>> {
  const l = { server: createServer((s) => { l.connections += 1; s.destroy(); }), port: 0, connections: 0 };
  await new Promise<void>((r) => l.server.listen(0, '127.0.0.1', r));
  l.port = (l.server.address() as { port: number }).port;
  listener = l;
  return l;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the proxy setting', () => {
  it('refuses the metadata and link-local addresses with 400, whatever WAGATE_WEBHOOK_PRIVATE says', async () => {
    gw = await startTestGateway();
    const { gate } = await gw.createChannel();
    for (const proxy of ['socks5://169.254.169.254:1080', 'socks5h://169.254.10.1:1080', 'socks5://[fe80::1]:1080', 'socks5://[::ffff:169.254.169.254]:1080', 'socks5://100.100.100.200:1080']) {
      const r = await gate<{ error: { code: number; details: string } }>('PATCH', '/settings', { proxy });
      expect(r.status, proxy).toBe(400);
      expect(r.body.error.details).toMatch(/^proxy: proxy refused: .*(link-local|metadata)/);
    }
    expect((await gate<{ proxy: string }>('GET', '/settings')).body.proxy).toBe('');
  });

  it('with WAGATE_WEBHOOK_PRIVATE=deny refuses loopback and private hosts, and never connects to them', async () => {
    const l = await countingListener();
    gw = await startTestGateway({ env: { WAGATE_WEBHOOK_PRIVATE: 'deny' } });
    const { gate } = await gw.createChannel();
    for (const proxy of [`socks5://127.0.0.1:${l.port}`, `socks5h://localhost:${l.port}`, 'socks5://10.1.2.3:1080', 'socks5://192.168.0.1:1080', `socks5://[::1]:${l.port}`]) {
      const r = await gate<{ error: { details: string } }>('PATCH', '/settings', { proxy });
      expect(r.status, proxy).toBe(400);
      expect(r.body.error.details).toMatch(/private targets are denied/);
    }
    // The partner's PATCH goes through the same guard.
    expect((await gw.partner('PATCH', `/partner/channels/${(await gw.createChannel()).id}/settings`, { proxy: `socks5://127.0.0.1:${l.port}` })).status).toBe(400);
    expect((await gate<{ proxy: string }>('GET', '/settings')).body.proxy).toBe('');
    expect(l.connections).toBe(0);
  });

  it('accepts a loopback proxy when private targets are allowed (the default), and "auto"', async () => {
    gw = await startTestGateway();
    const { gate } = await gw.createChannel();
    expect((await gate('PATCH', '/settings', { proxy: 'socks5://127.0.0.1:1080' })).status).toBe(200);
    expect((await gate('PATCH', '/settings', { proxy: 'auto' })).status).toBe(200);
    expect((await gate<{ proxy: string }>('GET', '/settings')).body.proxy).toBe('auto');
    expect((await gate('PATCH', '/settings', { proxy: 'http://127.0.0.1:3128' })).status).toBe(400);
  });
});

describe('connect errors through a proxy', () => {
  it('reach the channel token only as "proxy unreachable"; the admin sees the error on the pool', async () => {
    const dead = await closedPort();
    gw = await startTestGateway({ env: { WAGATE_RECONNECT_MAX_FAILURES: '2', WAGATE_REMEDIATION: 'off' }, random: () => 0 });
    const pool = await gw.partner<{ id: string }>('PUT', '/partner/proxies', { url: `socks5h://127.0.0.1:${dead}`, label: 'dead' });
    const own = await gw.partner<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'own', engine: 'baileys', baileys: { ws_url: 'wss://127.0.0.1:1/ws' }, settings: { proxy: `socks5h://127.0.0.1:${dead}` } });
    const auto = await gw.partner<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'auto', engine: 'baileys', baileys: { ws_url: 'wss://127.0.0.1:1/ws' }, settings: { proxy: 'auto' } });
    const { client } = await import('../support/http.js');
    for (const ch of [own.body, auto.body]) {
      const gate = client(gw.url, ch.token);
      await until(async () => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text === 'ERROR', 'ERROR');
      const { body } = await gate<{ history: Array<{ reason: string; detail?: string }> }>('GET', '/health/history?count=50');
      const details = body.history.map((h) => h.detail ?? '').join(' | ');
      expect(details).toContain('proxy unreachable');
      expect(details).not.toMatch(/ECONNREFUSED|Socks|127\.0\.0\.1|:\d{2,5}/);
    }
    const listed = await gw.partner<{ proxies: Array<{ id: string; health: { last_error: string | null; failed_connects: number } }> }>('GET', '/partner/proxies');
    const seen = listed.body.proxies.find((p) => p.id === pool.body.id)!;
    expect(seen.health.last_error).toMatch(/ECONNREFUSED|connect/i);
    expect(seen.health.failed_connects).toBeGreaterThan(0);
  });
});
