import { createServer, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { GateClient, isGateError, parseRetryAfter, type GateErrorKind } from '@wagate/client';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string } | 'hang' | 'destroy';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A loopback server that answers every request with `answer(seen)`. */
async function server(answer: (seen: Seen) => Answer): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(r);
      const a = answer(r);
      if (a === 'hang') return;
      if (a === 'destroy') return void req.socket.destroy();
      const body = a.raw ?? (a.body === undefined ? '' : JSON.stringify(a.body));
      res.writeHead(a.status, { 'content-type': a.raw ? 'text/html' : 'application/json', ...a.headers }).end(body);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, seen };
}

const whapiError = (status: number, message: string, details?: string) => ({ status, body: { error: { code: status, message, details } } });

async function kindOf(promise: Promise<unknown>): Promise<GateErrorKind | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    if (isGateError(err)) return err.kind;
    throw err;
  }
}

describe('GateClient', () => {
  it('sends the bearer token, the query and the Idempotency-Key, and returns the typed answer', async () => {
    const { url, seen } = await server((r) =>
      r.url.startsWith('/health')
        ? { status: 200, body: { channel_id: 'MANTIS-M72HC', start_at: 1, uptime: 2, version: '0.1.0', status: { code: 4, text: 'AUTH' } } }
        : { status: 200, body: { sent: true, message: { id: 'x', type: 'text', chat_id: '61371989950@s.whatsapp.net', from_me: true, timestamp: 1, text: { body: 'hi' } } } },
    );
    const gate = new GateClient({ baseUrl: `${url}/`, token: 'tok' });
    expect((await gate.health({ wakeup: false })).status.text).toBe('AUTH');
    const sent = await gate.messages.sendText({ to: '61371989950', body: 'hi' }, { idempotencyKey: 'k-1' });
    expect(sent.message.text?.body).toBe('hi');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/health?wakeup=false' });
    expect(seen[0]?.headers.authorization).toBe('Bearer tok');
    expect(seen[1]?.headers['idempotency-key']).toBe('k-1');
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ to: '61371989950', body: 'hi' });
  });

  it.each<[string, Answer, GateErrorKind]>([
    ['401 need channel authorization', whapiError(401, 'need channel authorization', 'channel status is LAUNCH'), 'need_authorization'],
    ['401 with another message', whapiError(401, 'invalid or missing token'), 'invalid_token'],
    ['429', { ...whapiError(429, 'too many requests'), headers: { 'retry-after': '3' } }, 'rate_limited'],
    ['400', whapiError(400, 'bad request', 'body.to: must match pattern'), 'bad_request'],
    ['403', whapiError(403, 'admin token required'), 'forbidden'],
    ['404', whapiError(404, 'not found'), 'not_found'],
    ['409', whapiError(409, 'Channel already authenticated'), 'conflict'],
    ['500', whapiError(500, 'internal error'), 'server'],
    ['a 502 HTML page from a proxy', { status: 502, raw: '<html>bad gateway</html>' }, 'server'],
    ['a dropped connection', 'destroy', 'network'],
    ['an odd status', whapiError(418, 'teapot'), 'unexpected'],
  ])('tells apart %s', async (_what, answer, kind) => {
    const { url } = await server(() => answer);
    const gate = new GateClient({ baseUrl: url, token: 'tok' });
    expect(await kindOf(gate.messages.sendText({ to: '61371989950', body: 'hi' }))).toBe(kind);
  });

  it('carries Retry-After and Whapi details on the error', async () => {
    const { url } = await server(() => ({ ...whapiError(429, 'too many requests', 'slow down'), headers: { 'retry-after': '3' } }));
    const err = await new GateClient({ baseUrl: url, token: 'tok' }).messages.sendText({ to: '61371989950', body: 'hi' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 3000, details: 'slow down' });
  });

  it('reports a refused connection and a timeout as network errors', async () => {
    const { url } = await server(() => 'hang');
    const err = await new GateClient({ baseUrl: url, token: 'tok', timeoutMs: 100 }).profile().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'network', timedOut: true });
    const closed = await new GateClient({ baseUrl: 'http://127.0.0.1:1', token: 'tok' }).health().catch((e: unknown) => e);
    expect(closed).toMatchObject({ kind: 'network', timedOut: false });
  });

  it('refuses a /health answer without the documented shape', async () => {
    const { url } = await server(() => ({ status: 200, body: { status: 'fine' } }));
    expect(await kindOf(new GateClient({ baseUrl: url, token: 'tok' }).health())).toBe('unexpected');
  });

  it('covers the pairing, settings, message and chat routes', async () => {
    const { url, seen } = await server((r) => (r.url.startsWith('/users/login/image') ? { status: 200, raw: 'PNG' } : { status: 200, body: {} }));
    const gate = new GateClient({ baseUrl: url, token: 'tok' });
    await gate.login({ wakeup: false });
    await gate.loginRowdata();
    expect(new TextDecoder().decode(await gate.loginImage())).toBe('PNG');
    await gate.pairingCode('61371989950');
    await gate.logout();
    await gate.profile();
    await gate.settings.get();
    await gate.settings.patch({ send_hold_ms: 0 });
    await gate.settings.reset();
    await gate.settings.events();
    await gate.messages.list({ count: 5, from_me: true });
    await gate.messages.listByChat('61371989950@s.whatsapp.net', { offset: 10 });
    await gate.messages.get('AbCdEfGhIjKlMnOp-QrStUvWx');
    await gate.chats.list({ count: 2 });
    await gate.chats.get('61371989950@s.whatsapp.net');
    await gate.healthHistory({ count: 3 });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /users/login?wakeup=false',
      'GET /users/login/rowdata',
      'GET /users/login/image',
      'GET /users/login/61371989950',
      'POST /users/logout',
      'GET /users/profile',
      'GET /settings',
      'PATCH /settings',
      'DELETE /settings',
      'GET /settings/events',
      'GET /messages/list?count=5&from_me=true',
      'GET /messages/list/61371989950@s.whatsapp.net?offset=10',
      'GET /messages/AbCdEfGhIjKlMnOp-QrStUvWx',
      'GET /chats?count=2',
      'GET /chats/61371989950@s.whatsapp.net',
      'GET /health/history?count=3',
    ]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
