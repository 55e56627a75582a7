import { createServer, type IncomingMessage, type Server } from 'node:http';

/** One request a receiver saw. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
  at: number;
}

export interface Flakiness {
  /** Share of requests answered 500. */
  errors?: number;
  /** Share of requests whose connection is destroyed without an answer. */
  drops?: number;
  /** Share of requests answered after `slowMs`. */
  slow?: number;
  slowMs?: number;
  /** A seeded source of randomness, so a failure can be replayed. */
  random?: () => number;
}

export interface Receiver {
  url: string;
  /** Every request, in arrival order (also those answered with a failure). */
  received: Received[];
  /** TCP connections accepted so far (an SSRF test proves a refusal opened none). */
  connections(): number;
  /** Sets the answer for the next requests: a status, optional headers and body (`ok`), or `hang` (never answer). */
  respond(answer: { status: number; headers?: Record<string, string>; body?: string } | 'hang' | ((r: Received) => number)): void;
  close(): Promise<void>;
}

/** A seeded PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A real webhook receiver on a loopback port that records everything it is sent. */
export async function startReceiver(flaky: Flakiness = {}): Promise<Receiver> {
  const received: Received[] = [];
  let answer: Parameters<Receiver['respond']>[0] = { status: 200 };
  const random = flaky.random ?? Math.random;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // not JSON: recorded as text only
      }
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      received.push(r);
      const roll = random();
      if (flaky.drops && roll < flaky.drops) return void req.socket.destroy();
      if (flaky.errors && roll < (flaky.drops ?? 0) + flaky.errors) return void res.writeHead(500).end('flaky');
      const finish = (): void => {
        if (answer === 'hang') return;
        if (typeof answer === 'function') return void res.writeHead(answer(r)).end();
        res.writeHead(answer.status, answer.headers).end(answer.body ?? 'ok');
      };
      if (flaky.slow && random() < flaky.slow) setTimeout(finish, flaky.slowMs ?? 200);
      else finish();
    });
  });
  server.keepAliveTimeout = 60_000;
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    connections: () => connections,
    respond: (a) => {
      answer = a;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
