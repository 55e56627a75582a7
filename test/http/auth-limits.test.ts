import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import { startGatewayProcess, tempDataDir } from '../support/process.js';
import { errorShapeProblem, expectError, type RawAnswer } from './raw.js';

const LIMIT = 5;
const WINDOW_MS = 2000;

/** One request from a chosen loopback address, so two "clients" can be told apart. */
function call(gw: TestGateway, opts: { path: string; token?: string; method?: string; from?: string }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
    const req = httpRequest(`${gw.url}${opts.path}`, { method: opts.method ?? 'GET', headers, localAddress: opts.from ?? '127.0.0.1', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const json = String(res.headers['content-type'] ?? '').includes('json') && text ? (JSON.parse(text) as unknown) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('failed authentication is rate-limited per client address', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { WAGATE_AUTH_FAILURE_LIMIT: String(LIMIT), WAGATE_AUTH_FAILURE_WINDOW_MS: String(WINDOW_MS) } });
    token = (await gw.createChannel({ start: false })).token;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('never counts or slows successful requests', async () => {
    for (let i = 0; i < 10 * LIMIT; i++) expect((await call(gw, { path: '/health?wakeup=false', token })).status).toBe(200);
    for (let i = 0; i < 10 * LIMIT; i++) expect((await call(gw, { path: '/partner/channels/list', token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('answers 429 with Retry-After once an address has failed too often, to every token, and lets other addresses be', async () => {
    for (let i = 0; i < LIMIT; i++) expectError(await call(gw, { path: '/health', token: `wrong-${i}` }), 401);
    const refused = await call(gw, { path: '/health', token: 'wrong-again' });
    const error = expectError(refused, 429);
    expect(error.message).toBe('too many requests');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);

    // A correct token from that address waits too: otherwise the guessing would simply go on.
    expectError(await call(gw, { path: '/health?wakeup=false', token }), 429);
    expectError(await call(gw, { path: '/partner/channels/list', token: ADMIN_TOKEN }), 429);
    expectError(await call(gw, { path: `/health?wakeup=false&token=${token}` }), 429);
    // Another address is a different client.
    expect((await call(gw, { path: '/health?wakeup=false', token, from: '127.0.0.2' })).status).toBe(200);
    expectError(await call(gw, { path: '/health', token: 'wrong', from: '127.0.0.2' }), 401);
    // Requests that carry no credential are not guesses: probes answer as ever.
    expect((await call(gw, { path: '/livez' })).status).toBe(200);

    const blockedAt = Date.now();
    await until(async () => (await call(gw, { path: '/health?wakeup=false', token })).status === 200, 'the address to be let in again', 10_000, 100);
    expect(Date.now() - blockedAt).toBeGreaterThanOrEqual(WINDOW_MS / LIMIT - 100);
  });

  it('holds a brute force to the budget: hundreds of wrong guesses, a handful evaluated', async () => {
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => call(gw, { path: '/partner/channels/list', token: `guess-${i}` })));
    const elapsed = Date.now() - started;
    const evaluated = answers.filter((a) => a.status === 401).length;
    for (const a of answers) expect(errorShapeProblem(a)).toBeNull();
    expect(answers.filter((a) => a.status === 429).length + evaluated).toBe(300);
    // At most the burst, plus what leaked away while the guesses ran.
    expect(evaluated).toBeLessThanOrEqual(LIMIT + Math.ceil((elapsed * LIMIT) / WINDOW_MS) + 1);
  });
});

describe('the admin token', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is taken only in the Authorization header on partner routes and /metrics', async () => {
    for (const path of ['/partner/channels/list', '/partner/events', '/metrics']) {
      const answer = await call(gw, { path: `${path}?token=${encodeURIComponent(ADMIN_TOKEN)}` });
      const error = expectError(answer, 401);
      expect(error.details).toMatch(/Authorization/);
    }
    expect((await call(gw, { path: '/partner/channels/list', token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('buys a single-use ticket that opens the partner event stream, and nothing else', async () => {
    const issued = await call(gw, { path: '/partner/events/ticket', method: 'POST', token: ADMIN_TOKEN });
    expect(issued.status).toBe(200);
    const { ticket, expires_in } = issued.json as { ticket: string; expires_in: number };
    expect(ticket).toMatch(/^[\w-]{40,}$/);
    expect(expires_in).toBe(30);

    expectError(await call(gw, { path: `/partner/channels/list?ticket=${ticket}` }), 401);
    const stream = new AbortController();
    const opened = await fetch(`${gw.url}/partner/events?ticket=${ticket}`, { signal: stream.signal });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toMatch(/^text\/event-stream/);
    stream.abort();
    const again = expectError(await call(gw, { path: `/partner/events?ticket=${ticket}` }), 401);
    expect(again.details).toMatch(/unknown, used or expired/);

    // Only the admin, with the header, gets one.
    const channel = await gw.createChannel({ start: false });
    expectError(await call(gw, { path: '/partner/events/ticket', method: 'POST', token: channel.token }), 403);
    expectError(await call(gw, { path: `/partner/events/ticket?token=${encodeURIComponent(ADMIN_TOKEN)}`, method: 'POST' }), 401);
  });

  it('is refused at start when shorter than 24 characters, with a clear message', async () => {
    expect(() => loadConfig({ WAGATE_ADMIN_TOKEN: 'admin-secret' })).toThrow(/WAGATE_ADMIN_TOKEN is 12 characters long; it must be at least 24/);
    expect(loadConfig({ WAGATE_ADMIN_TOKEN: 'a'.repeat(24) }).adminToken).toBe('a'.repeat(24));
    const started = startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: 'short-token' });
    await expect(started).rejects.toThrow(/exited with 1 before listening[\s\S]*WAGATE_ADMIN_TOKEN is 11 characters long; it must be at least 24/);
  });
});
