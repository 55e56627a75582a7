import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { channelStatus, type StatusText } from '@wagate/protocol';

// A stand-in for Whapi.Cloud's gate API on a loopback port: the status gating, the error
// answers and the idempotency the client must cope with, with faults on demand. It has no
// send hold: while the channel is not AUTH, a send is answered 401 at once.

/** One message the stand-in accepted (once per Idempotency-Key). */
export interface Accepted {
  id: string;
  key: string | null;
  to: string;
  body: string;
  at: number;
}

/** What to do with one send that passed the status check. */
export type Fault =
  | 'none'
  /** 429 with `Retry-After: <seconds>`, before accepting. */
  | { status: 429; retryAfter: string }
  /** 500 before accepting. */
  | 'error_before'
  /** Accepts the message, then answers 500 (the answer is lost; a retry must not send it again). */
  | 'error_after'
  /** Accepts the message, then destroys the connection. */
  | 'drop_after'
  /** Accepts the message, then answers after `ms` (past the client's timeout). */
  | { slowAfterMs: number };

export interface StandIn {
  url: string;
  token: string;
  accepted: Accepted[];
  /** Every send attempt, with its key and outcome status (0: dropped; `replayed`: answered from an earlier attempt's record). */
  attempts: Array<{ key: string | null; body: string; status: number; at: number; replayed: boolean }>;
  status: StatusText;
  /** Moves to `status` (and tells the webhook, unless `silent`). */
  setStatus(status: StatusText, opts?: { silent?: boolean }): void;
  /** Decides the fault for each send that passed the status check. */
  faults: (attempt: number, key: string | null) => Fault;
  /** Where status changes are posted, Whapi-style (no webhook-id, no signature). */
  webhookUrl: string | null;
  close(): Promise<void>;
}

const TO = /^[\d-]{9,31}(@[\w.]{1,})?$/;

/** Starts the stand-in; `token` is the only token it accepts. */
export async function startWhapiStandIn(token = 'standin-token'): Promise<StandIn> {
  const startAt = Math.floor(Date.now() / 1000);
  const replies = new Map<string, { status: number; body: string }>();
  let sendAttempts = 0;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string, details?: string, headers?: Record<string, string>): void =>
    json(res, status, { error: { code: status, message, details } }, headers);
  const health = () => ({ start_at: startAt, uptime: Math.floor(Date.now() / 1000) - startAt, status: channelStatus(standIn.status), version: '1.8.7' });

  const onSend = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const key = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const record = (status: number, replayed = false): void => void standIn.attempts.push({ key, body: bodyOf(raw), status, at: Date.now(), replayed });
    let input: { to?: unknown; body?: unknown };
    try {
      input = JSON.parse(raw) as typeof input;
    } catch {
      record(400);
      return error(res, 400, 'bad request', 'body must be JSON');
    }
    if (typeof input.to !== 'string' || !TO.test(input.to) || typeof input.body !== 'string' || input.body === '') {
      record(400);
      return error(res, 400, 'bad request', 'to and body are required');
    }
    if (standIn.status !== 'AUTH') {
      record(401);
      return error(res, 401, 'need channel authorization', `channel status is ${standIn.status}`);
    }
    const earlier = key ? replies.get(key) : undefined;
    if (earlier) {
      record(earlier.status, true);
      return void res.writeHead(earlier.status, { 'content-type': 'application/json', 'idempotent-replayed': 'true' }).end(earlier.body);
    }
    const fault = standIn.faults(++sendAttempts, key);
    if (typeof fault === 'object' && 'status' in fault) {
      record(429);
      return error(res, 429, 'too many requests', undefined, { 'retry-after': fault.retryAfter });
    }
    if (fault === 'error_before') {
      record(500);
      return error(res, 500, 'internal error');
    }
    const message = { id: `M${standIn.accepted.length.toString().padStart(15, '0')}-standin`, type: 'text', chat_id: input.to.includes('@') ? input.to : `${input.to}@s.whatsapp.net`, from_me: true, timestamp: Math.floor(Date.now() / 1000), status: 'sent', text: { body: input.body } };
    standIn.accepted.push({ id: message.id, key, to: input.to, body: input.body, at: Date.now() });
    const answer = { status: 200, body: JSON.stringify({ sent: true, message }) };
    if (key) replies.set(key, answer);
    if (fault === 'error_after') {
      record(500);
      return error(res, 500, 'internal error');
    }
    if (fault === 'drop_after') {
      record(0);
      return void req.socket.destroy();
    }
    record(200);
    if (typeof fault === 'object') return void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(answer.body), fault.slowAfterMs);
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer.body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.headers.authorization !== `Bearer ${token}`) return error(res, 401, 'Unauthorized', 'invalid token');
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/health') return json(res, 200, health());
      if (req.method === 'POST' && path === '/messages/text') return onSend(req, res, raw);
      error(res, 404, 'not found');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

  const standIn: StandIn = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    token,
    accepted: [],
    attempts: [],
    status: 'AUTH',
    faults: () => 'none',
    webhookUrl: null,
    setStatus(status, opts = {}) {
      standIn.status = status;
      if (opts.silent || !standIn.webhookUrl) return;
      // Whapi spells the type `channels` in its documentation; the client reads both.
      const body = JSON.stringify({ health: health(), event: { type: 'channels', event: 'post' }, channel_id: 'STANDIN-00001' });
      void fetch(standIn.webhookUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).catch(() => undefined);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return standIn;
}

function bodyOf(raw: string): string {
  try {
    return String((JSON.parse(raw) as { body?: unknown }).body);
  } catch {
    return raw;
  }
}
