import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { LookupAll, OutboundGuard } from './guard.js';
import { startReceiver, type Receiver, type ReceiverHandler } from './receiver.fixture.js';
import { createSender, deliveryTarget, type DeliveryAttempt, type Sender } from './sender.js';
import { generateSecret } from './signing.js';

const BODY = JSON.stringify({ messages: [{ id: 'm1' }], event: { type: 'messages', event: 'post' }, channel_id: 'CH-1' });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((stop) => stop()));
});

async function receiver(handler?: ReceiverHandler): Promise<Receiver> {
  const r = await startReceiver(handler);
  cleanup.push(() => r.close());
  return r;
}

function sender({ timeoutMs, ...guard }: Partial<OutboundGuard> & { timeoutMs?: number } = {}): Sender {
  const s = createSender({ guard: { allowPrivate: true, ...guard }, timeoutMs });
  cleanup.push(() => s.close());
  return s;
}

function attempt(url: string, extra: Partial<DeliveryAttempt> = {}): DeliveryAttempt {
  return {
    url,
    mode: 'body',
    eventType: 'messages',
    method: 'post',
    headers: {},
    body: BODY,
    webhookId: 'msg_01HZX',
    timestampSeconds: Math.floor(Date.now() / 1000),
    ...extra,
  };
}

describe('delivery modes', () => {
  it('posts the body to the URL itself in body mode', async () => {
    const r = await receiver();
    const result = await sender().send(attempt(`${r.origin}/hook?k=1`));
    expect(result).toMatchObject({ ok: true, status: 200, gone: false });
    expect(r.received).toMatchObject([{ method: 'POST', path: '/hook?k=1', body: BODY }]);
  });

  it('posts to url/<type>/<method> in path mode', async () => {
    const r = await receiver();
    await sender().send(attempt(`${r.origin}/hook/?k=1`, { mode: 'path', eventType: 'channel', method: 'patch' }));
    expect(r.received).toMatchObject([{ method: 'POST', path: '/hook/channel/patch?k=1' }]);
  });

  it('uses the event method as the verb, to url/<type>, in method mode', async () => {
    const r = await receiver();
    await sender().send(attempt(`${r.origin}/hook`, { mode: 'method', eventType: 'users', method: 'delete' }));
    expect(r.received).toMatchObject([{ method: 'DELETE', path: '/hook/users', body: BODY }]);
  });

  it('drops a URL fragment', () => {
    expect(deliveryTarget('https://example.com/h#x', 'body', 'messages', 'post').url.href).toBe('https://example.com/h');
  });
});

describe('delivery headers', () => {
  it('sends content-type, a stable webhook-id and the timestamp on every attempt', async () => {
    const r = await receiver((_req, res) => {
      res.statusCode = r.received.length === 1 ? 500 : 200;
      res.end();
    });
    const s = sender();
    const first = await s.send(attempt(r.origin, { timestampSeconds: 1_700_000_000 }));
    const second = await s.send(attempt(r.origin, { timestampSeconds: 1_700_000_003 }));
    expect([first.ok, second.ok]).toEqual([false, true]);
    expect(r.received.map((q) => q.headers['webhook-id'])).toEqual(['msg_01HZX', 'msg_01HZX']);
    expect(r.received.map((q) => q.headers['webhook-timestamp'])).toEqual(['1700000000', '1700000003']);
    expect(r.received[0]?.headers['content-type']).toBe('application/json');
    expect(r.received[0]?.headers['webhook-signature']).toBeUndefined();
  });

  it('signs so that the standardwebhooks library verifies the received request', async () => {
    const r = await receiver();
    const secret = generateSecret();
    await sender().send(attempt(r.origin, { secret }));
    const got = r.received[0]!;
    const headers = Object.fromEntries(Object.entries(got.headers).map(([k, v]) => [k, String(v)]));
    expect(new Webhook(secret).verify(got.body, headers)).toEqual(JSON.parse(BODY));
  });

  it("sends the webhook's own headers but never lets them replace webhook-* or content-type", async () => {
    const r = await receiver();
    const secret = generateSecret();
    const own = {
      Authorization: 'Bearer abc',
      'X-Tenant': 't1',
      'Webhook-Id': 'forged',
      'webhook-signature': 'v1,forged',
      'Content-Type': 'text/plain',
    };
    await sender().send(attempt(r.origin, { secret, headers: own }));
    const h = r.received[0]!.headers;
    expect(h.authorization).toBe('Bearer abc');
    expect(h['x-tenant']).toBe('t1');
    expect(h['webhook-id']).toBe('msg_01HZX');
    expect(h['webhook-signature']).not.toContain('forged');
    expect(h['content-type']).toBe('application/json');
  });
});

describe('receiver answers', () => {
  it('treats a redirect as a failure and does not follow it', async () => {
    const elsewhere = await receiver();
    const r = await receiver((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.origin}/stolen` }).end();
    });
    const result = await sender().send(attempt(r.origin));
    expect(result).toMatchObject({ ok: false, status: 302, gone: false, error: 'HTTP 302 (redirects are not followed)' });
    expect(elsewhere.received).toHaveLength(0);
  });

  it('reports 410 Gone so the webhook can be disabled', async () => {
    const r = await receiver((_req, res) => res.writeHead(410).end('gone'));
    expect(await sender().send(attempt(r.origin))).toMatchObject({ ok: false, status: 410, gone: true });
  });

  it('retries a 503 after Retry-After seconds', async () => {
    const r = await receiver((_req, res) => res.writeHead(503, { 'retry-after': '30' }).end());
    expect(await sender().send(attempt(r.origin))).toMatchObject({ ok: false, status: 503, retryAfterMs: 30_000 });
  });

  it('retries a 429 after a Retry-After HTTP-date', async () => {
    const when = new Date(Date.now() + 120_000).toUTCString();
    const r = await receiver((_req, res) => res.writeHead(429, { 'retry-after': when }).end());
    const result = await sender().send(attempt(r.origin));
    expect(result).toMatchObject({ ok: false, status: 429, gone: false });
    // The date has one-second resolution and a little time passes on the way.
    expect(result.retryAfterMs).toBeGreaterThan(115_000);
    expect(result.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('reads and discards a large response body, then reuses the connection', async () => {
    const r = await receiver((_req, res) => res.end('x'.repeat(32 * 1024)));
    const s = sender();
    expect((await s.send(attempt(r.origin))).ok).toBe(true);
    // undici hands the socket back to the pool on a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await s.send(attempt(r.origin))).ok).toBe(true);
    expect(r.received[1]?.remotePort).toBe(r.received[0]?.remotePort);
  });
});

describe("the first bytes of the receiver's answer", () => {
  it('keeps an error answer whole and a long answer to its first 512 bytes, cut at any byte', async () => {
    const r = await receiver((_req, res) => {
      const first = r.received.length === 1;
      res.statusCode = first ? 500 : 200;
      res.end(first ? '{"error":"database is down"}' : '€'.repeat(10_000));
    });
    const s = sender();
    expect(await s.send(attempt(r.origin))).toMatchObject({ ok: false, status: 500, answer: '{"error":"database is down"}' });
    const long = await s.send(attempt(r.origin));
    expect(long).toMatchObject({ ok: true, status: 200 });
    // 512 bytes are 170 whole euro signs (3 bytes each) and 2 bytes of the next: one U+FFFD.
    expect(long.answer).toBe(`${'€'.repeat(170)}\uFFFD`);
  });

  it('has no answer when none came, an empty one for an empty body, and no NUL in any', async () => {
    const r = await receiver((_req, res) => res.end(r.received.length === 1 ? '' : 'a\u0000b'));
    expect((await sender().send(attempt(r.origin))).answer).toBe('');
    expect((await sender().send(attempt(r.origin))).answer).toBe('a\uFFFDb');
    const refused = await sender().send(attempt('http://127.0.0.1:1/'));
    expect(refused.answer).toBeUndefined();
  });
});

describe('failures become results, not exceptions', () => {
  it('times out a receiver that never answers', async () => {
    const r = await receiver(() => undefined);
    const result = await sender({ timeoutMs: 200 }).send(attempt(r.origin));
    expect(result).toMatchObject({ ok: false, gone: false, error: 'timeout after 200 ms' });
    expect(result.status).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(190);
  });

  it('times out a receiver that sends headers but never finishes the body', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const result = await sender({ timeoutMs: 200 }).send(attempt(r.origin));
    expect(result).toMatchObject({ ok: false, status: 200, error: 'timeout after 200 ms reading the HTTP 200 response body' });
  });

  it('reports a refused connection', async () => {
    const r = await receiver();
    const url = r.origin;
    await r.close();
    const result = await sender().send(attempt(url));
    expect(result.ok).toBe(false);
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('reports a malformed URL', async () => {
    const result = await sender().send(attempt('not a url'));
    expect(result.ok).toBe(false);
    expect(result.error).toContain('Invalid URL');
  });
});

describe('SSRF guard on delivery', () => {
  const dns = (table: Record<string, string>): LookupAll => async (hostname) => {
    const address = table[hostname];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };

  it('refuses a loopback receiver when private targets are denied', async () => {
    const r = await receiver();
    const result = await sender({ allowPrivate: false }).send(attempt(r.origin));
    expect(result.ok).toBe(false);
    expect(result.error).toContain('url refused: 127.0.0.1 is loopback');
    expect(r.received).toHaveLength(0);
  });

  it('delivers to a loopback receiver when private targets are allowed', async () => {
    const r = await receiver();
    expect((await sender({ allowPrivate: true }).send(attempt(r.origin))).ok).toBe(true);
  });

  it('refuses a literal link-local URL even when private targets are allowed', async () => {
    const result = await sender({ allowPrivate: true }).send(attempt('http://169.254.169.254/latest/meta-data'));
    expect(result).toMatchObject({ ok: false, error: 'url refused: 169.254.169.254 is the cloud metadata service (AWS, GCP, Azure, OpenStack) (169.254.169.254/32)' });
  });

  it('refuses a hostname that resolves to a link-local address', async () => {
    const s = sender({ allowPrivate: true, lookup: dns({ 'hooks.example': '169.254.169.254' }) });
    const result = await s.send(attempt('http://hooks.example:8080/in'));
    expect(result).toMatchObject({
      ok: false,
      error: 'url refused: hooks.example resolves to 169.254.169.254, which is the cloud metadata service (AWS, GCP, Azure, OpenStack) (169.254.169.254/32)',
    });
  });

  it('checks the address it connects to, so a hostname pointing at loopback is refused when denied', async () => {
    const r = await receiver();
    const s = sender({ allowPrivate: false, lookup: dns({ 'hooks.example': '127.0.0.1' }) });
    const result = await s.send(attempt(`http://hooks.example:${r.port}/in`));
    expect(result.error).toContain('hooks.example resolves to 127.0.0.1, which is loopback');
    expect(r.received).toHaveLength(0);
  });

  it('connects through the guarded lookup to a permitted address', async () => {
    const r = await receiver();
    const s = sender({ allowPrivate: true, lookup: dns({ 'hooks.example': '127.0.0.1' }) });
    expect((await s.send(attempt(`http://hooks.example:${r.port}/in`))).ok).toBe(true);
    expect(r.received[0]?.headers.host).toBe(`hooks.example:${r.port}`);
  });

  // The receiver plays the gateway: a connection to it would show up in its log.
  it.each([
    ['a literal IP', (port: number) => `http://127.0.0.1:${port}/hook`],
    ['an IPv4-mapped literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['a name', (port: number) => `http://self.example:${port}/hook`],
  ])('never connects to its own listen address and port (%s)', async (_form, url) => {
    const r = await receiver();
    const s = sender({ ownEndpoints: () => [{ address: '127.0.0.1', port: r.port }], lookup: dns({ 'self.example': '127.0.0.1' }) });
    const result = await s.send(attempt(url(r.port)));
    expect(result.error).toMatch(new RegExp(`is the gateway's own listen address \\(port ${r.port}\\)`));
    expect(r.received).toHaveLength(0);
  });

  it('connects to the same address on another port', async () => {
    const r = await receiver();
    const s = sender({ ownEndpoints: () => [{ address: '127.0.0.1', port: r.port + 1 }] });
    expect((await s.send(attempt(r.origin))).ok).toBe(true);
  });

  it('counts every local address as its own when it listens on all of them', async () => {
    const r = await receiver();
    const s = sender({ ownEndpoints: () => [{ address: '0.0.0.0', port: r.port }] });
    expect((await s.send(attempt(`http://127.0.0.1:${r.port}/`))).error).toContain("gateway's own listen address");
    expect(r.received).toHaveLength(0);
  });
});
