import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { expressWebhook, fastifyWebhook, nodeWebhookHandler, type Delivery, type ReceiverOptions, type WebhookEvent } from '@wagate/client';
import { generateSecret } from '../../src/webhooks/signing.js';

const secret = generateSecret();
const event = { user: { id: '61371989950', name: 'Jonathan' }, event: { type: 'users', event: 'post' }, channel_id: 'MANTIS-M72HC' };

/** A signed delivery as wagate sends it. */
function signed(payload: unknown, id = 'msg_9'): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload);
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, now, body),
  };
  return { body, headers };
}

interface Seen {
  events: Array<{ event: WebhookEvent; delivery: Delivery }>;
  errors: unknown[];
  unsupported: string[];
  options: ReceiverOptions;
}

function recorder(extra: Partial<ReceiverOptions> = {}): Seen {
  const seen: Seen = {
    events: [],
    errors: [],
    unsupported: [],
    options: {
      secret,
      onEvent: (e, d) => void seen.events.push({ event: e, delivery: d }),
      onError: (err) => void seen.errors.push(err),
      onUnsupported: (err) => void seen.unsupported.push(err.event),
      ...extra,
    },
  };
  return seen;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const post = (url: string, body: string, headers: Record<string, string>): Promise<Response> => fetch(url, { method: 'POST', body, headers });

/** The behaviour every adapter shares, run against each. */
function sharedBehaviour(start: (seen: Seen) => Promise<string>): void {
  it('hands a verified event to onEvent with its webhook-id, and answers 200', async () => {
    const seen = recorder();
    const url = await start(seen);
    const { body, headers } = signed(event);
    const res = await post(url, body, headers);
    expect(res.status).toBe(200);
    expect(seen.events).toHaveLength(1);
    expect(seen.events[0]?.event.name).toBe('users.post');
    expect(seen.events[0]?.delivery.id).toBe('msg_9');
  });

  it('answers 401 to a bad signature and 400 to an invalid payload, without calling onEvent', async () => {
    const seen = recorder();
    const url = await start(seen);
    const { body, headers } = signed(event);
    expect((await post(url, body.replace('Jonathan', 'Mallory'), headers)).status).toBe(401);
    const bad = signed({ ...event, user: { name: 'no id' } });
    expect((await post(url, bad.body, bad.headers)).status).toBe(400);
    expect(seen.events).toHaveLength(0);
    expect(seen.errors).toHaveLength(2);
  });

  it('acknowledges events outside the catalogue so the gateway does not retry them', async () => {
    const seen = recorder();
    const url = await start(seen);
    const { body, headers } = signed({ chats: [], event: { type: 'chats', event: 'post' }, channel_id: 'MANTIS-M72HC' });
    expect((await post(url, body, headers)).status).toBe(200);
    expect(seen.unsupported).toEqual(['chats.post']);
  });

  it('answers 500 when the handler throws, so the delivery is retried', async () => {
    const seen = recorder({
      onEvent: () => {
        throw new Error('database down');
      },
    });
    const url = await start(seen);
    const { body, headers } = signed(event);
    expect((await post(url, body, headers)).status).toBe(500);
  });
}

describe('nodeWebhookHandler', () => {
  sharedBehaviour((seen) => listen(nodeWebhookHandler(seen.options)));

  it('answers 413 to a body over the limit', async () => {
    const seen = recorder({ maxBodyBytes: 64 });
    const url = await listen(nodeWebhookHandler(seen.options));
    const { body, headers } = signed({ ...event, padding: 'x'.repeat(200) });
    expect((await post(url, body, headers)).status).toBe(413);
  });

  it('works without a secret (unsigned deliveries, as Whapi.Cloud sends them)', async () => {
    const seen = recorder({ secret: undefined });
    const url = await listen(nodeWebhookHandler(seen.options));
    expect((await post(url, JSON.stringify(event), { 'content-type': 'application/json' })).status).toBe(200);
    expect(seen.events[0]?.delivery.id).toBeNull();
  });
});

describe('fastifyWebhook', () => {
  sharedBehaviour(async (seen) => {
    const app = Fastify();
    await app.register(fastifyWebhook({ ...seen.options, path: '/hook' }));
    // The rest of the app keeps Fastify's JSON parsing: the plugin is encapsulated.
    app.post('/json', async (req) => ({ got: req.body }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const address = app.server.address() as { port: number };
    const base = `http://127.0.0.1:${address.port}`;
    const echoed = await (await post(`${base}/json`, '{"a":1}', { 'content-type': 'application/json' })).json();
    expect(echoed).toEqual({ got: { a: 1 } });
    return `${base}/hook`;
  });
});

describe('expressWebhook (tested with plain node http objects)', () => {
  const asExpress = (seen: Seen, prepare?: (req: IncomingMessage & { body?: unknown; rawBody?: unknown }, raw: Buffer) => void, nexts: unknown[] = []) =>
    listen((req, res) => {
      const mw = expressWebhook(seen.options);
      const next = (err?: unknown): void => {
        nexts.push(err);
        res.statusCode = 599;
        res.end();
      };
      if (!prepare) return mw(req, res, next);
      // Simulates a body parser that ran before the middleware (express.raw or express.json).
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        prepare(req, Buffer.concat(chunks));
        mw(req, res, next);
      });
    });

  describe('reading the stream itself', () => sharedBehaviour((seen) => asExpress(seen)));
  describe('after express.raw()', () => sharedBehaviour((seen) => asExpress(seen, (req, raw) => (req.body = raw))));

  it('uses req.rawBody when a JSON parser kept it', async () => {
    const seen = recorder();
    const url = await asExpress(seen, (req, raw) => {
      req.rawBody = raw;
      req.body = JSON.parse(raw.toString());
    });
    const { body, headers } = signed(event);
    expect((await post(url, body, headers)).status).toBe(200);
  });

  it('passes a setup mistake to next(): a body parsed by express.json() cannot be verified', async () => {
    const seen = recorder();
    const nexts: unknown[] = [];
    const url = await asExpress(seen, (req, raw) => (req.body = JSON.parse(raw.toString())), nexts);
    const { body, headers } = signed(event);
    expect((await post(url, body, headers)).status).toBe(599);
    expect(String(nexts[0])).toMatch(/express\.raw/);
  });

  it('takes a parsed body when no secret is set', async () => {
    const seen = recorder({ secret: undefined });
    const url = await asExpress(seen, (req, raw) => (req.body = JSON.parse(raw.toString())));
    expect((await post(url, JSON.stringify(event), { 'content-type': 'application/json' })).status).toBe(200);
    expect(seen.events).toHaveLength(1);
  });
});
