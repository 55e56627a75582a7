import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { whapiDoc } from '../support/whapi.js';
import { expectError, raw, type RawAnswer } from './raw.js';
import { ALL_ROUTES, GATE_ROUTES, PARTNER_ROUTES, allowedMethods, concrete, type Route } from './routes.js';

const BODY_LIMIT = 2048;
const FAST = { init_ms: 20, launch_ms: 20 };

interface Channel {
  id: string;
  token: string;
  gate: Call;
}

const withBody = ALL_ROUTES.filter((r) => r.method !== 'GET');
const withWrongType = ALL_ROUTES.filter((r) => r.wrongType);
const closed = ALL_ROUTES.filter((r) => r.closedBody);
const distinctPaths = [...new Set(ALL_ROUTES.map((r) => r.path))];

/** A body close to valid for a closed-body route, plus one field it does not know. */
const NEAR_VALID: Record<string, Record<string, unknown>> = {
  '/sandbox/scan': { user: { id: '61371989950', name: 'Alice', nickname: 'al' } },
  '/sandbox/blip': { duration_ms: 10, surprise: true },
  '/sandbox/flap': { times: 1, interval_ms: 1000, surprise: true },
  '/sandbox/stuck': { phase: 'INIT', surprise: true },
  '/sandbox/fail': { reason: 'replaced', surprise: true },
  '/sandbox/ack_delay': { delay_ms: 10, surprise: true },
  '/partner/channels': { name: 'intruder', engine: 'sandbox', surprise: true },
  '/partner/channels/{id}/messages/text': { to: '61371989950', body: 'hi', surprise: true },
  '/partner/channels/{id}/sandbox/inbound': { from: '4915112345678', body: 'hi', surprise: true },
  '/partner/proxies': { url: 'socks5://127.0.0.1:1080', label: 'x', surprise: true },
  '/partner/proxies/{proxy}/quarantine': { reason: 'slow', surprise: true },
  '/settings': { callback_persist: false, surprise: true },
  '/settings/webhook_test': { url: 'http://127.0.0.1:9/never', type: 'messages', mode: 'body', surprise: true },
  '/webhooks/deliveries/replay': { since: 0, until: 1, surprise: true },
};

/** The channel's status text, without waking it. */
async function statusText(gate: Call): Promise<string> {
  return (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;
}

/** Waits for the first QR, then scans it as `user`. */
async function pair(ch: Channel, user: { id: string; name: string }): Promise<void> {
  await until(async () => (await statusText(ch.gate)) === 'QR', `${ch.id} to show a QR`);
  const res = await ch.gate('POST', '/sandbox/scan', { user });
  expect(res.status).toBe(200);
  await until(async () => (await statusText(ch.gate)) === 'AUTH', `${ch.id} to reach AUTH`);
}

describe('bad input on every route', () => {
  let gw: TestGateway;
  let alice: Channel;
  let bob: Channel;

  /** Everything a bad request could have changed: the channel list, each channel's status, run, history and settings. */
  async function snapshot(): Promise<unknown> {
    const list = await gw.partner<{ channels: Array<{ id: string; status: unknown; stopped: boolean }>; total: number }>(
      'GET',
      '/partner/channels/list',
    );
    const channels = await Promise.all(
      [alice, bob].map(async (ch) => {
        const health = await ch.gate('GET', '/health?wakeup=false');
        const history = await ch.gate('GET', '/health/history?count=500');
        const settings = await ch.gate('GET', '/settings');
        return { id: ch.id, status: health.body.status, user: health.body.user, start_at: health.body.start_at, history: history.body, settings: settings.body };
      }),
    );
    return { list: list.body.channels.map((c) => ({ id: c.id, status: c.status, stopped: c.stopped })), total: list.body.total, channels };
  }

  /** Sends a request to `route` with the credential it needs; `{id}` is Alice's channel. */
  function call(route: Route, init: { body?: string; headers?: Record<string, string>; query?: string; token?: string | null } = {}): Promise<RawAnswer> {
    const fallback = route.guard === 'admin' ? ADMIN_TOKEN : route.guard === 'channel' ? alice.token : undefined;
    const token = init.token === null ? undefined : (init.token ?? fallback);
    const path = concrete(route.path, { id: alice.id }) + (init.query ? `?${init.query}` : '');
    return raw(gw.url, { method: route.method, path, token, headers: init.headers, body: init.body });
  }

  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { WAGATE_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    alice = await gw.createChannel({ name: 'alice', sandbox: FAST });
    bob = await gw.createChannel({ name: 'bob', sandbox: FAST });
    // Both channels paired: AUTH is a resting state, so nothing changes on its own between snapshots.
    await pair(alice, { id: '61371989950', name: 'Alice' });
    await pair(bob, { id: '61371989951', name: 'Bob' });
  });

  afterAll(async () => {
    await gw?.close();
  });

  let before: unknown;
  beforeEach(async () => {
    before = await snapshot();
  });
  afterEach(async () => {
    expect(await snapshot()).toEqual(before);
  });

  describe('malformed JSON', () => {
    it.each(withBody)('$method $path answers 400 naming the JSON problem', async (route) => {
      const error = expectError(await call(route, { headers: json, body: '{"name": "x", ' }), 400);
      expect(error.details).toMatch(/JSON/);
    });

    it.each(withBody)('$method $path answers 400 to an empty body declared as JSON', async (route) => {
      expectError(await call(route, { headers: json, body: '' }), 400);
    });

    it.each(withBody)('$method $path refuses a prototype-poisoning body with 400', async (route) => {
      expectError(await call(route, { headers: json, body: '{"__proto__":{"admin":true}}' }), 400);
    });
  });

  describe('wrong types', () => {
    it.each(withWrongType)('$method $path answers 400 with details naming the field', async (route) => {
      const wrong = route.wrongType!;
      const init = wrong.body === undefined ? { query: wrong.query } : { headers: json, body: JSON.stringify(wrong.body), query: wrong.query };
      const error = expectError(await call(route, init), 400);
      expect(error.details).toContain(wrong.field);
    });

    it.each(closed)('$method $path answers 400 when the body is not an object', async (route) => {
      const error = expectError(await call(route, { headers: json, body: '["an", "array"]' }), 400);
      expect(error.details).toMatch(/^body/);
    });

    it('refuses a partner channel id that is not an id with 400 naming params.id', async () => {
      const error = expectError(await raw(gw.url, { method: 'GET', path: '/partner/channels/not-an-id', token: ADMIN_TOKEN }), 400);
      expect(error.details).toContain('params.id');
    });

    it('refuses a delivery id that is not a number with 400 naming params.id', async () => {
      const error = expectError(await raw(gw.url, { method: 'POST', path: '/webhooks/deliveries/first/replay', token: alice.token }), 400);
      expect(error.details).toContain('params.id');
    });
  });

  describe('paging past the end', () => {
    const paged: Array<[string, 'channel' | 'admin']> = [
      ['/health/history', 'channel'],
      ['/webhooks/deliveries', 'channel'],
      ['/partner/channels/list', 'admin'],
    ];
    const offsets = ['1e20', '9223372036854775808', 'Infinity', '1e400'];
    it.each(paged)('%s answers an offset past every row with an empty page or 400, never 500', async (path, guard) => {
      for (const offset of offsets) {
        const res = await raw(gw.url, { method: 'GET', path: `${path}?offset=${offset}`, token: guard === 'admin' ? ADMIN_TOKEN : alice.token });
        expect(res.status, `offset=${offset}: ${res.text}`).toBeLessThan(500);
        if (res.status !== 200) expectError(res, 400);
        else expect(Object.values(res.json as object).find(Array.isArray), `offset=${offset}`).toEqual([]);
      }
    });
  });

  describe('unknown fields', () => {
    it.each(closed)('$method $path refuses an unknown field with 400 naming it', async (route) => {
      const body = NEAR_VALID[route.twinOf ?? route.path];
      expect(body, `a near-valid body for ${route.path}`).toBeDefined();
      const error = expectError(await call(route, { headers: json, body: JSON.stringify(body) }), 400);
      expect(error.details).toMatch(/unknown field "(surprise|nickname)"/);
    });
  });

  describe('unknown routes', () => {
    const unknown: Array<[string, string, 'channel' | 'admin']> = [
      ['GET', '/nope', 'channel'],
      ['GET', '/health/nope', 'channel'],
      ['POST', '/users/login/61371989950/extra', 'channel'],
      ['POST', '/sandbox/explode', 'channel'],
      ['GET', '/partner/nope', 'admin'],
      ['POST', '/partner/channels/{id}/explode', 'admin'],
      ['GET', '/partner/channels/{id}/token/extra', 'admin'],
    ];
    it.each(unknown)('%s %s answers 404 in the error shape', async (method, path, guard) => {
      const token = guard === 'admin' ? ADMIN_TOKEN : alice.token;
      const error = expectError(await raw(gw.url, { method, path: concrete(path, { id: alice.id }), token }), 404);
      expect(error.details).toContain(method);
    });

    it('answers 404 without a token too (the route does not exist for anyone)', async () => {
      expectError(await raw(gw.url, { method: 'GET', path: '/definitely/not/here' }), 404);
    });
  });

  describe('wrong methods', () => {
    const cases = distinctPaths.flatMap((path) => {
      const concretePath = concrete(path, { id: 'NOSUCH-CHANL' });
      const allowed = allowedMethods(concretePath);
      return ['PATCH', 'PUT', 'POST', 'DELETE', 'GET']
        .filter((m) => !allowed.includes(m))
        .map((method) => ({ method, path: concretePath, allowed }));
    });
    // A method Whapi has on the path (PATCH /users/profile) is a missing feature, not a wrong call.
    const isWhapi = (method: string, path: string): boolean =>
      Object.entries(whapiDoc().paths).some(([p, ops]) => method.toLowerCase() in ops && new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
    const wrong = cases.filter((c) => !isWhapi(c.method, c.path));
    const unimplemented = cases.filter((c) => isWhapi(c.method, c.path));

    it.each(unimplemented)('$method $path (a Whapi route wagate lacks) answers 404 "not implemented by wagate"', async ({ method, path }) => {
      const res = await raw(gw.url, { method, path, token: alice.token });
      expect(expectError(res, 404).details).toContain('not implemented by wagate');
    });

    it.each(wrong)('$method $path answers 405 with Allow: $allowed', async ({ method, path, allowed }) => {
      const res = await raw(gw.url, { method, path, token: path.startsWith('/partner') ? ADMIN_TOKEN : alice.token });
      expectError(res, 405);
      const allow = String(res.headers.allow ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean)
        .sort();
      expect(allow).toEqual(allowed);
    });

    it.each(['/livez/', '/health/', '/partner/channels/NOSUCH-CHANL/'])(
      'never answers 405 to a method its own Allow header lists (GET %s)',
      async (path) => {
        const res = await raw(gw.url, { method: 'GET', path, token: path.startsWith('/partner') ? ADMIN_TOKEN : alice.token });
        expect(res.status).toBeLessThan(500);
        if (res.status === 405) expect(String(res.headers.allow)).not.toMatch(/\bGET\b/);
      },
    );
  });

  describe('malformed HTTP', () => {
    it('answers a path with broken percent-encoding with 400 in the error shape', async () => {
      expectError(await raw(gw.url, { method: 'GET', path: '/health/%E0%A4%A', token: alice.token }), 400);
      expectError(await raw(gw.url, { method: 'POST', path: '/partner/channels/%ZZ/stop', token: ADMIN_TOKEN }), 400);
    });

    it('answers a method HTTP does not know with 4xx in the error shape', async () => {
      const res = await raw(gw.url, { method: 'FROBNICATE', path: '/health', token: alice.token });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectError(res, res.status);
    });

    it('answers a request line longer than the header limit with 431 or 414 in the error shape', async () => {
      const res = await raw(gw.url, { method: 'GET', path: `/health?pad=${'a'.repeat(20_000)}`, token: alice.token });
      expect([414, 431]).toContain(res.status);
      expectError(res, res.status);
    });

    it('answers a body that is not JSON with 415 naming the content type', async () => {
      const route = PARTNER_ROUTES.find((r) => r.method === 'PUT')!;
      const error = expectError(await call(route, { headers: { 'content-type': 'application/xml' }, body: '<channel name="x"/>' }), 415);
      expect(error.details).toContain('application/xml');
    });
  });

  describe('oversized bodies', () => {
    const big = JSON.stringify({ name: 'x', pad: 'p'.repeat(BODY_LIMIT * 2) });
    it.each(withBody.filter((r) => !r.mediaBody))('$method $path answers 413 above WAGATE_BODY_LIMIT_BYTES', async (route) => {
      expectError(await call(route, { headers: json, body: big }), 413);
    });

    it('answers 413 to a chunked body that outgrows the limit without a content-length', async () => {
      const route = PARTNER_ROUTES.find((r) => r.method === 'PUT')!;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 8; i++) yield new TextEncoder().encode(i === 0 ? '{"name":"x","pad":"' : 'q'.repeat(BODY_LIMIT / 2));
      }
      const res = await raw(gw.url, {
        method: route.method,
        path: route.path,
        token: ADMIN_TOKEN,
        headers: json,
        body: Readable.from(chunks()),
      });
      expectError(res, 413);
    });
  });

  describe('tokens', () => {
    const gateRoutes = GATE_ROUTES;
    const partnerRoutes = PARTNER_ROUTES;

    it.each(gateRoutes)('$method $path answers 401 without a token, never "need channel authorization"', async (route) => {
      const error = expectError(await call(route, { token: null }), 401);
      expect(error.message).not.toBe('need channel authorization');
    });

    it.each(gateRoutes)('$method $path answers 401 to a token of no channel', async (route) => {
      const error = expectError(await call(route, { token: 'not-a-real-token' }), 401);
      expect(error.message).not.toBe('need channel authorization');
    });

    it.each(gateRoutes)('$method $path answers 401 to the admin token', async (route) => {
      const error = expectError(await call(route, { token: ADMIN_TOKEN }), 401);
      expect(error.message).not.toBe('need channel authorization');
    });

    it.each(gateRoutes)('$method $path answers 401 to a wrong ?token= as well', async (route) => {
      const res = await raw(gw.url, { method: route.method, path: `${concrete(route.path)}?token=wrong-token` });
      const error = expectError(res, 401);
      expect(error.message).not.toBe('need channel authorization');
    });

    it.each(partnerRoutes)('$method $path answers 401 without a token', async (route) => {
      expectError(await call(route, { token: null }), 401);
    });

    it.each(partnerRoutes)('$method $path answers 401 to a token that is neither admin nor channel', async (route) => {
      expectError(await call(route, { token: 'not-a-real-token' }), 401);
    });

    it.each(partnerRoutes)('$method $path answers 403 to a channel token (on Alice\'s own id)', async (route) => {
      const body = route.method === 'PUT' ? JSON.stringify({ name: 'by a channel' }) : undefined;
      expectError(await call(route, { token: alice.token, headers: body ? json : undefined, body }), 403);
    });

    it('refuses a malformed Authorization header with 401', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Basic YWxpY2U6c2VjcmV0', `Token ${alice.token}`, `Bearer ${alice.token} extra`]) {
        expectError(await raw(gw.url, { method: 'GET', path: '/health', headers: { authorization } }), 401);
      }
    });
  });
});
