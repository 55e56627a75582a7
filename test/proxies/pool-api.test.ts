import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startSocks5, type Socks5Proxy } from '../support/socks5.js';

// The proxy pool of the partner API (SPEC §11) on a real gateway, with real SOCKS5 proxies on loopback.

let gw: TestGateway | null = null;
const proxies: Socks5Proxy[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  for (const p of proxies.splice(0)) await p.close();
});

async function socks(opts: Parameters<typeof startSocks5>[0] = {}): Promise<Socks5Proxy> {
  const p = await startSocks5(opts);
  proxies.push(p);
  return p;
}

interface View {
  id: string;
  url: string;
  label: string;
  region: string | null;
  state: string;
  state_reason: string | null;
  channels: string[];
  health: { status: string; connects: number };
}

describe('/partner/proxies', () => {
  it('adds, lists (password hidden), quarantines, releases after a probe, and deletes', async () => {
    gw = await startTestGateway();
    const p = await socks({ auth: { username: 'u', password: 's3cret' } });
    const added = await gw.partner<View>('PUT', '/partner/proxies', { url: p.url, label: 'eu-1', region: 'eu' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ id: expect.stringMatching(/^px_[a-z0-9]{10}$/), label: 'eu-1', region: 'eu', state: 'active', channels: [], health: { status: 'unknown' } });
    expect(added.body.url).toBe(`socks5h://u:***@127.0.0.1:${p.port}`);
    const id = added.body.id;

    const list = await gw.partner<{ proxies: View[]; total: number }>('GET', '/partner/proxies');
    expect(list.body.total).toBe(1);
    expect(JSON.stringify(list.body)).not.toContain('s3cret');

    const q = await gw.partner<View>('POST', `/partner/proxies/${id}/quarantine`, { reason: 'too slow' });
    expect(q.body).toMatchObject({ state: 'quarantined', state_reason: 'too slow' });
    const before = p.connections;
    const r = await gw.partner<View>('POST', `/partner/proxies/${id}/release`);
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('active');
    expect(p.connections).toBe(before + 1);

    expect((await gw.partner('DELETE', `/partner/proxies/${id}`)).body).toEqual({ success: true });
    expect((await gw.partner('DELETE', `/partner/proxies/${id}`)).status).toBe(404);
    expect((await gw.partner<{ total: number }>('GET', '/partner/proxies')).body.total).toBe(0);
  });

  it('keeps a quarantined proxy quarantined when its probe fails (409)', async () => {
    gw = await startTestGateway();
    const p = await socks();
    const { body } = await gw.partner<View>('PUT', '/partner/proxies', { url: p.url, label: 'gone' });
    await gw.partner('POST', `/partner/proxies/${body.id}/quarantine`, {});
    await p.close();
    const r = await gw.partner<{ error: { code: number; message: string; details: string } }>('POST', `/partner/proxies/${body.id}/release`);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 409, message: 'proxy probe failed', details: expect.stringContaining('ECONNREFUSED') });
    expect((await gw.partner<{ proxies: View[] }>('GET', '/partner/proxies')).body.proxies[0]!.state).toBe('quarantined');
  });

  it('refuses bad proxies with 400 and adds nothing: a bad scheme, no port, the metadata and link-local addresses', async () => {
    gw = await startTestGateway();
    for (const url of ['ftp://127.0.0.1:21', 'socks5://127.0.0.1', 'socks5://169.254.169.254:1080', 'http://[fe80::1]:3128', 'socks5://0.0.0.0:1080']) {
      const r = await gw.partner<{ error: { code: number; details: string } }>('PUT', '/partner/proxies', { url, label: 'x' });
      expect(r.status, url).toBe(400);
      expect(r.body.error.details).toMatch(/^url: /);
    }
    expect((await gw.partner('PUT', '/partner/proxies', { url: 'socks5://127.0.0.1:1', label: 'x', extra: 1 })).status).toBe(400);
    expect((await gw.partner<{ total: number }>('GET', '/partner/proxies')).body.total).toBe(0);
  });

  it('takes a private or loopback pool proxy from the admin even with WAGATE_WEBHOOK_PRIVATE=deny, and still refuses the metadata address', async () => {
    gw = await startTestGateway({ env: { WAGATE_WEBHOOK_PRIVATE: 'deny' } });
    const p = await socks();
    expect((await gw.partner<View>('PUT', '/partner/proxies', { url: p.url, label: 'lan' })).status).toBe(200);
    expect((await gw.partner<View>('PUT', '/partner/proxies', { url: 'socks5://10.1.2.3:1080', label: 'office' })).status).toBe(200);
    expect((await gw.partner('PUT', '/partner/proxies', { url: 'socks5://169.254.169.254:1080', label: 'metadata' })).status).toBe(400);
    // A channel on "auto" may then use it, though its own setting could not name that host.
    const { id, gate } = await gw.createChannel({ settings: { proxy: 'auto' } });
    expect((await gate('PATCH', '/settings', { proxy: p.url })).status).toBe(400);
    const list = (await gw.partner<{ proxies: View[] }>('GET', '/partner/proxies')).body.proxies;
    expect(list.find((x) => x.label === 'lan')!.channels).toEqual([id]);
  });

  it('is for the admin token only', async () => {
    gw = await startTestGateway();
    const { gate } = await gw.createChannel();
    expect((await gate('GET', '/partner/proxies')).status).toBe(403);
  });

  it('puts an "auto" channel on the healthiest proxy and lists it there', async () => {
    gw = await startTestGateway();
    const [a, b] = [await socks(), await socks()];
    const pa = (await gw.partner<View>('PUT', '/partner/proxies', { url: a.url, label: 'a' })).body;
    const pb = (await gw.partner<View>('PUT', '/partner/proxies', { url: b.url, label: 'b' })).body;
    await gw.partner('POST', `/partner/proxies/${pa.id}/quarantine`, {});
    const { id } = await gw.createChannel({ settings: { proxy: 'auto' } });
    const list = (await gw.partner<{ proxies: View[] }>('GET', '/partner/proxies')).body.proxies;
    expect(list.find((p) => p.id === pb.id)!.channels).toEqual([id]);
    expect(list.find((p) => p.id === pa.id)!.channels).toEqual([]);
  });

  it('counts the pool by state and health in wagate_proxies', async () => {
    gw = await startTestGateway();
    const ids: string[] = [];
    for (const label of ['a', 'b', 'c']) ids.push((await gw.partner<View>('PUT', '/partner/proxies', { url: (await socks()).url, label })).body.id);
    await gw.partner('POST', `/partner/proxies/${ids[0]}/quarantine`, {});
    const metrics = (await gw.partner<string>('GET', '/metrics')).body;
    expect(metrics).toContain('wagate_proxies{state="active",health="unknown"} 2');
    expect(metrics).toContain('wagate_proxies{state="quarantined",health="unknown"} 1');
    await gw.partner('DELETE', `/partner/proxies/${ids[1]}`);
    expect((await gw.partner<string>('GET', '/metrics')).body).toContain('wagate_proxies{state="active",health="unknown"} 1');
  });
});
