import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';

const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
const PER_ADDRESS = 20;
const TRICKLERS = 60;

/** A client that sends a request's start and then one byte now and then, forever. */
interface Trickler {
  socket: Socket;
  openedAt: number;
  closedAt: number | null;
  /** What the server wrote back before it closed. */
  answer: string;
}

let gw: TestGateway;
let channelToken: string;

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      WAGATE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      WAGATE_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      WAGATE_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
    },
  });
  // Made in-process: a request would leave a keep-alive connection counting against the cap.
  channelToken = (await gw.gateway.channels.create({ name: 'slow', engine: 'sandbox', start: false })).token;
});
afterAll(async () => {
  await gw?.close();
});

/** Opens a connection that trickles `start` and then a byte every 200 ms. */
async function trickle(start: string): Promise<Trickler> {
  const url = new URL(gw.url);
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: '127.0.0.1' });
  const t: Trickler = { socket, openedAt: Date.now(), closedAt: null, answer: '' };
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (t.answer += d));
  socket.on('error', () => undefined);
  const drip: { timer?: NodeJS.Timeout } = {};
  socket.on('close', () => {
    clearInterval(drip.timer);
    t.closedAt = Date.now();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(start);
  // Only after the request's start: a byte before it would make a malformed request instead.
  if (!socket.destroyed) drip.timer = setInterval(() => socket.writable && socket.write('a'), 200);
  return t;
}

function openConnections(): Promise<number> {
  return new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/** `/livez` from another loopback address than the tricklers': how long it took and what it answered. */
function livez(): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = get(`${gw.url}/livez`, { localAddress: '127.0.0.2', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('/livez did not answer in 5 s')));
    req.on('error', reject);
  });
}

describe('slow and greedy clients', () => {
  it('cuts off clients that trickle a body, caps connections per address, and /livez stays reachable', async () => {
    // Authorised, so the gateway reads the body rather than answering 401 first.
    const body = `POST /messages/text HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${channelToken}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`;
    const tricklers = await Promise.all(Array.from({ length: TRICKLERS }, () => trickle(body)));
    try {

    // Beyond the cap, a connection from the same address is closed at once, unanswered.
    await until(() => tricklers.filter((t) => t.closedAt !== null).length >= TRICKLERS - PER_ADDRESS, 'the connections over the cap to close', 5000);
    const refused = tricklers.filter((t) => t.closedAt !== null);
    expect(refused).toHaveLength(TRICKLERS - PER_ADDRESS);
    for (const t of refused) expect(t.answer, t.answer).toBe("");

    // While the rest trickle, another client gets through at once.
    for (let i = 0; i < 5; i++) {
      const probe = await livez();
      expect(probe.status).toBe(200);
      expect(probe.ms).toBeLessThan(1000);
    }

    // The request deadline ends every trickling body, however steadily its bytes come: 408.
    await until(() => tricklers.every((t) => t.closedAt !== null), 'every trickler to be cut off', 10_000);
    for (const t of tricklers.filter((x) => !refused.includes(x))) {
      expect(t.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect((t.closedAt as number) - t.openedAt).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    }
    expect((await livez()).status).toBe(200);
    } finally {
      for (const t of tricklers) t.socket.destroy();
      await until(async () => (await openConnections()) === 0, 'the server to let go of every connection');
    }
  });

  it('cuts off a client that trickles its headers', async () => {
    const t = await trickle('GET /livez HTTP/1.1\r\nx-slow: ');
    await until(() => t.closedAt !== null, 'the slow headers to be cut off', 10_000);
    expect((t.closedAt as number) - t.openedAt).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(t.answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that never sends a request', async () => {
    const url = new URL(gw.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.on('error', () => undefined);
    const openedAt = Date.now();
    let closedAt = 0;
    socket.on('close', () => (closedAt = Date.now()));
    socket.resume();
    await until(() => closedAt > 0, 'the silent connection to be closed', 10_000);
    expect(closedAt - openedAt).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
  });

  it('reads its limits from the environment and refuses nonsense', () => {
    const config = loadConfig({ WAGATE_REQUEST_TIMEOUT_MS: '2000', WAGATE_HEADERS_TIMEOUT_MS: '500', WAGATE_CONNECTION_TIMEOUT_MS: '90000', WAGATE_MAX_CONNECTIONS: '50', WAGATE_MAX_CONNECTIONS_PER_ADDRESS: '0' });
    expect(config.http).toMatchObject({ requestTimeoutMs: 2000, headersTimeoutMs: 500, connectionTimeoutMs: 90000, maxConnections: 50, maxConnectionsPerAddress: 0 });
    expect(() => loadConfig({ WAGATE_REQUEST_TIMEOUT_MS: '1000', WAGATE_HEADERS_TIMEOUT_MS: '2000' })).toThrow(/WAGATE_HEADERS_TIMEOUT_MS \(2000\) must not exceed WAGATE_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ WAGATE_MAX_CONNECTIONS: '0' })).toThrow(/WAGATE_MAX_CONNECTIONS must be an integer from 1/);
    // A held send (up to 60 s) or a webhook test must never be cut off as idle.
    expect(() => loadConfig({ WAGATE_CONNECTION_TIMEOUT_MS: '30000' })).toThrow(/WAGATE_CONNECTION_TIMEOUT_MS must be an integer from 65000/);
    expect(() => loadConfig({ WAGATE_CONNECTION_TIMEOUT_MS: '70000', WAGATE_WEBHOOK_TIMEOUT_MS: '120000' })).toThrow(/at least WAGATE_WEBHOOK_TIMEOUT_MS \+ 5000 \(125000\)/);
  });
});
