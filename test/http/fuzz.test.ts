import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { errorShapeProblem, raw, type RawAnswer } from './raw.js';
import { ALL_ROUTES, concrete, type Route } from './routes.js';

// Malformed requests across every route: whatever arrives, the gateway answers below 500 and
// every error is Whapi's shape with `code` equal to the HTTP status.

const BODY_LIMIT = 8192;
const BATCH = 8; // requests in flight at once
const RUNS = 200; // × BATCH = 1,600 requests
const FAST = { init_ms: 20, launch_ms: 20 };

type Credential = 'channel' | 'channel-query' | 'admin' | 'admin-query' | 'wrong' | 'none';

interface FuzzRequest {
  route: Route;
  method: string;
  id: string;
  phone: string;
  delivery: string;
  suffix: string;
  query: Array<[string, string]>;
  rawQuery: string;
  contentType: string | null;
  extraHeaders: Record<string, string>;
  body: string | Uint8Array | null;
  credential: Credential;
}

/** The credentials a route's guard admits (probes admit anything). */
const OWN_CREDENTIALS: Record<Route['guard'], Credential[]> = {
  channel: ['channel', 'channel', 'channel-query'],
  admin: ['admin', 'admin', 'admin-query'],
  none: ['none', 'wrong', 'channel'],
};

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'SEARCH', 'FROBNICATE'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json;;;',
  'application/vnd.api+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/octet-stream',
  '*/*',
  '',
];

/** Printable ASCII: what a header value or raw URL piece can carry. */
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });

const garbageValue = fc.oneof(
  fc.constantFrom('', 'true', 'false', 'TRUE', '1', '0', '-1', '1.5', '1e400', '-1e400', 'NaN', 'Infinity', '99999999999999999999999', 'null', '[]', '{}', ' ', '%00'),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 30 }),
);

const queryPair = fc.tuple(fc.oneof(fc.constantFrom('wakeup', 'count', 'offset', 'since', 'until', 'status', 'token', 'wakeup[]', 'count[a]', '__proto__', 'constructor'), fc.string({ maxLength: 12 })), garbageValue);

const bogusId = fc.oneof(
  fc.stringMatching(/^[A-Z]{1,10}-[A-Z0-9]{5}$/),
  fc.stringMatching(/^[a-z0-9-]{0,20}$/),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('list', '..', '%2e%2e', 'NOSUCH-CHANL'),
);

const notAPhone = fc
  .oneof(fc.string({ maxLength: 20 }).map(encodeURIComponent), fc.stringMatching(/^\+?[0-9 -]{0,20}$/).map(encodeURIComponent), fc.stringMatching(/^[0-9]{16,30}$/))
  .filter((p) => !/^\d{7,15}$/.test(p) && p !== 'image' && p !== 'rowdata');

const deliveryId = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('0', '-1', '1.5', '1e400', 'Infinity', 'NaN', '99999999999999999999999', '0x10'),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);

const suffix = fc.oneof(
  { arbitrary: fc.constant(''), weight: 6 },
  { arbitrary: fc.constantFrom('/', '//', '/x', '/..', '/%2e%2e/health', '?', '#frag', '/%ZZ', '%', '/%E0%A4%A', '/%00'), weight: 2 },
  { arbitrary: fc.string({ maxLength: 15 }).map((s) => `/${encodeURIComponent(s)}`), weight: 1 },
);

/** Nesting deep enough to hurt a recursive parser or validator, within the body limit. */
const deepJson = fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom('array', 'object', 'in-a-field')).map(([n, kind]) => {
  if (kind === 'array') return '['.repeat(n) + ']'.repeat(n);
  if (kind === 'object') return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const inner = '['.repeat(n) + ']'.repeat(n);
  return `{"name":"x","user":${inner},"settings":{"webhooks":${inner}},"sandbox":${inner},"reason":${inner}}`;
});

const hugeNumbers = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '{"duration_ms":1e308}',
  '{"times":9007199254740993,"interval_ms":1e400}',
  '{"user":{"id":61371989950e300}}',
  '{"name":"x","sandbox":{"init_ms":1e309,"qr_per_round":-0}}',
  '{"count":-9223372036854775809}',
);

/**
 * Bodies that name the right fields with the wrong values. None may be valid on any route:
 * a valid create would add a channel (and a real engine would dial out).
 */
const nearMisses = fc.constantFrom(
  '{"user":{"id":61371989950}}',
  '{"user":{"id":"abc","name":7}}',
  '{"user":null}',
  '{"duration_ms":"2500"}',
  '{"times":0,"interval_ms":1}',
  '{"phase":"init"}',
  '{"phase":["INIT"]}',
  '{"reason":"qr_exhausted"}',
  '{"reason":"Replaced"}',
  '{"name":""}',
  '{"name":5}',
  '{"name":"x","engine":"whatsmeow"}',
  '{"name":"x","start":"yes"}',
  '{"name":"x","settings":[]}',
  '{"name":"x","settings":{"webhooks":[{"url":5}]}}',
  '{"name":"x","sandbox":{"init_ms":-1}}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
);

const body = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  { arbitrary: fc.json({ maxDepth: 4 }), weight: 4 },
  { arbitrary: nearMisses, weight: 3 },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 2 },
  { arbitrary: deepJson, weight: 1 },
  { arbitrary: hugeNumbers, weight: 1 },
  { arbitrary: fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 3 }).map((n) => JSON.stringify({ pad: 'p'.repeat(n) })), weight: 1 },
);

const request: fc.Arbitrary<FuzzRequest> = fc
  .constantFrom(...ALL_ROUTES)
  .chain((route) =>
    fc.record({
      route: fc.constant(route),
      method: fc.oneof({ arbitrary: fc.constant(route.method as string), weight: 3 }, { arbitrary: fc.constantFrom(...METHODS), weight: 2 }),
      id: bogusId,
      phone: notAPhone,
      delivery: deliveryId,
      suffix,
      query: fc.array(queryPair, { maxLength: 4 }),
      rawQuery: fc.oneof({ arbitrary: fc.constant(''), weight: 5 }, { arbitrary: fc.constantFrom('%ZZ', 'a=%', '&&&', '=', 'wakeup', 'count=%FF%FE'), weight: 1 }),
      contentType: fc.oneof(
        { arbitrary: fc.constant(null), weight: 2 },
        { arbitrary: fc.constant('application/json'), weight: 4 },
        { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 3 },
        { arbitrary: printable, weight: 1 },
      ),
      extraHeaders: fc.oneof(
        { arbitrary: fc.constant({}), weight: 4 },
        {
          arbitrary: fc.constantFrom<Record<string, string>>(
            { 'content-encoding': 'gzip' },
            { 'content-encoding': 'br' },
            { accept: 'text/html' },
            { 'content-language': 'xx' },
          ),
          weight: 1,
        },
        { arbitrary: printable.map((v) => ({ 'x-fuzz': v, accept: v })), weight: 1 },
      ),
      body,
      credential: fc.oneof(
        { arbitrary: fc.constantFrom<Credential>(...OWN_CREDENTIALS[route.guard]), weight: 3 },
        { arbitrary: fc.constantFrom<Credential>('channel', 'channel-query', 'admin', 'admin-query', 'wrong', 'none'), weight: 2 },
      ),
    }),
  );

describe('malformed requests on every route', () => {
  let gw: TestGateway;
  let channel: { id: string; token: string; gate: Call };
  let sent = 0;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { WAGATE_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    channel = await gw.createChannel({ name: 'fuzzed', sandbox: FAST });
    await until(async () => (await channel.gate('GET', '/health?wakeup=false')).body.status.text === 'QR', 'QR');
  });

  afterAll(async () => {
    await gw?.close();
  });

  /** The request as it goes on the wire, with the credential placed where the case says. */
  function toWire(r: FuzzRequest): { method: string; path: string; token?: string; headers: Record<string, string>; body?: string | Uint8Array } {
    const tokens: Record<Credential, string | undefined> = {
      channel: channel.token,
      'channel-query': channel.token,
      admin: ADMIN_TOKEN,
      'admin-query': ADMIN_TOKEN,
      wrong: 'not-a-token-of-anything',
      none: undefined,
    };
    // Never a real channel id: the fuzz must not stop, restart or delete the channel under test.
    const id = r.id === channel.id ? 'NOSUCH-CHANL' : r.id;
    const routePath = r.route.path.replace('{id}', id).replace('{phone}', r.phone).replace('{delivery}', r.delivery).replace('{proxy}', r.id);
    const path = concrete(routePath) + r.suffix;
    const query = r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    if (r.rawQuery) query.push(r.rawQuery);
    const token = tokens[r.credential];
    if (token && r.credential.endsWith('-query')) query.push(`token=${encodeURIComponent(token)}`);
    const separator = path.includes('?') ? '&' : '?';
    const headers: Record<string, string> = { ...r.extraHeaders };
    if (r.contentType !== null) headers['content-type'] = r.contentType;
    const wire = { method: r.method, path: query.length ? `${path}${separator}${query.join('&')}` : path, headers, body: r.body ?? undefined };
    return token && !r.credential.endsWith('-query') ? { ...wire, token } : wire;
  }

  /** What is wrong with an answer, or null. */
  function problem(r: ReturnType<typeof toWire>, a: RawAnswer): string | null {
    if (a.status >= 500) return `answered ${a.status}: ${a.text.slice(0, 300)}`;
    if (a.status < 300) return null;
    if (a.status === 405) {
      const allow = String(a.headers.allow ?? '').split(/,\s*/).filter(Boolean);
      if (allow.length === 0) return '405 without an Allow header';
      if (allow.includes(r.method)) return `405 although its Allow header lists ${r.method} (${allow.join(', ')})`;
    }
    return r.method === 'HEAD' ? null : errorShapeProblem(a);
  }

  it(`answers ${RUNS * BATCH} malformed requests below 500, every error in Whapi's shape`, async () => {
    const before = await gw.partner('GET', '/partner/channels/list');

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const wires = batch.map(toWire);
        const answers = await Promise.all(
          wires.map(async (w) => {
            sent += 1;
            try {
              return await raw(gw.url, w);
            } catch (err) {
              return err as Error;
            }
          }),
        );
        answers.forEach((a, i) => {
          const w = wires[i]!;
          const what = `${w.method} ${w.path} (${JSON.stringify(w.headers)}, body ${String(w.body).slice(0, 120)})`;
          if (a instanceof Error) throw new Error(`${what}: the connection failed: ${a.message}`);
          const p = problem(w, a);
          if (p) throw new Error(`${what}: ${p}`);
        });
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 50_000 },
    );

    expect(sent).toBeGreaterThanOrEqual(1000);
    const after = await gw.partner('GET', '/partner/channels/list');
    expect(after.body.total).toBe(before.body.total);
    expect(after.body.channels.map((c: { id: string }) => c.id)).toEqual([channel.id]);
    expect((await channel.gate('GET', '/health?wakeup=false')).body.channel_id).toBe(channel.id);
  }, 60_000);

  it('still answers /livez and /readyz afterwards', async () => {
    const live = await raw(gw.url, { method: 'GET', path: '/livez' });
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ status: 'ok' });
    const ready = await raw(gw.url, { method: 'GET', path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', channels: 1 });
  });
});
