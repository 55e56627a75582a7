import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ChannelStatusTracker,
  ConflictError,
  ForbiddenError,
  InvalidTokenError,
  NeedAuthorizationError,
  NetworkError,
  RateLimitedError,
  ResilientSender,
  ServerError,
  parseWebhook,
  type AnyGateError,
  type RetryNotice,
  type SendOutcome,
  type SendText,
  type SentMessage,
  type StatusText,
} from '@wagate/client';
import { VirtualClock } from '../../src/channel/clock.js';
import { channelStatus } from '@wagate/protocol';

const failure = (status: number, message: string) => ({ method: 'POST', path: '/messages/text', status, message });
const needAuth = () => new NeedAuthorizationError(failure(401, 'need channel authorization'));
const errorsByName: Record<string, () => AnyGateError> = {
  '400': () => new BadRequestError(failure(400, 'bad request')),
  '403': () => new ForbiddenError(failure(403, 'forbidden')),
  'invalid token': () => new InvalidTokenError(failure(401, 'invalid or missing token')),
  '409': () => new ConflictError(failure(409, 'Idempotency-Key reused')),
};

interface Call {
  request: SendText;
  key: string | undefined;
  at: number;
}

/** A gate double: answers each call with the next scripted result for its body, then success. */
function fakeClient(clock: VirtualClock, script: Record<string, Array<AnyGateError | 'hang'>> = {}) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    messages: {
      sendText: async (request: SendText, options: { idempotencyKey?: string }): Promise<SentMessage> => {
        calls.push({ request, key: options.idempotencyKey, at: clock.now() });
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await new Promise((r) => setImmediate(r));
          const next = script[request.body]?.shift();
          if (next && next !== 'hang') throw next;
          return { sent: true, message: { id: `id-${calls.length}`, type: 'text', chat_id: `${request.to}@s.whatsapp.net`, from_me: true, timestamp: 1, text: { body: request.body } } };
        } finally {
          inFlight -= 1;
        }
      },
    },
  };
  return client;
}

function sender(clock: VirtualClock, client: ReturnType<typeof fakeClient>, extra: Partial<ConstructorParameters<typeof ResilientSender>[0]> = {}) {
  let n = 0;
  const s = new ResilientSender({ client, clock, random: () => 0.5, newKey: () => `key-${++n}`, ...extra });
  const retries: RetryNotice[] = [];
  const outcomes: SendOutcome[] = [];
  s.on('retry', (r) => retries.push(r));
  s.on('outcome', (o) => outcomes.push(o));
  return { s, retries, outcomes };
}

const text = (to: string, body: string): SendText => ({ to, body });

describe('ResilientSender', () => {
  it('retries 401 need channel authorization with exponential backoff and jitter, reusing one key', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, { hi: [needAuth(), needAuth(), needAuth()] });
    const { s, retries } = sender(clock, client, { retry: { authorization: { baseMs: 1_000, maxMs: 3_000, maxRetries: 5 } } });
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(10_000);
    const result = await outcome;
    expect(result.ok).toBe(true);
    expect(result.attempts).toBe(4);
    expect(new Set(client.calls.map((c) => c.key))).toEqual(new Set(['key-1']));
    // random 0.5 → three quarters of base·2ⁿ, capped at maxMs.
    expect(retries.map((r) => r.delayMs)).toEqual([750, 1500, 2250]);
    expect(client.calls.map((c, i) => c.at - (client.calls[i - 1]?.at ?? c.at))).toEqual([0, 750, 1500, 2250]);
  });

  it('gives up after the bound on authorization retries, with the last error', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, { hi: Array.from({ length: 10 }, needAuth) });
    const { s } = sender(clock, client, { retry: { authorization: { baseMs: 10, maxMs: 10, maxRetries: 3 } } });
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(1_000);
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(4);
    if (!result.ok) expect(result.error.kind).toBe('need_authorization');
  });

  it('waits at least Retry-After on 429', async () => {
    const clock = new VirtualClock();
    const limited = new RateLimitedError(failure(429, 'too many requests'), 7_000);
    const client = fakeClient(clock, { hi: [limited] });
    const { s } = sender(clock, client);
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(6_999);
    expect(client.calls).toHaveLength(1);
    await clock.advance(1);
    expect((await outcome).ok).toBe(true);
    expect(client.calls[1]?.at).toBe((client.calls[0]?.at ?? 0) + 7_000);
  });

  it('fails instead of waiting out an unreasonable Retry-After', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, { hi: [new RateLimitedError(failure(429, 'slow down'), 3_600_000)] });
    const { s } = sender(clock, client, { retry: { maxRetryAfterMs: 60_000 } });
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(0);
    expect((await outcome).attempts).toBe(1);
  });

  it('retries 5xx and network errors with the same Idempotency-Key', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, {
      hi: [new ServerError(failure(502, 'send failed'), null), new NetworkError(failure(0, 'socket hang up'), false), new NetworkError(failure(0, 'timeout'), true)],
    });
    const { s, retries } = sender(clock, client);
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(60_000);
    expect((await outcome).ok).toBe(true);
    expect(retries.map((r) => r.reason)).toEqual(['server', 'network', 'network']);
    expect(new Set(client.calls.map((c) => c.key)).size).toBe(1);
  });

  it.each(Object.keys(errorsByName))('never retries %s', async (name) => {
    const clock = new VirtualClock();
    const error = (errorsByName[name] as () => AnyGateError)();
    const client = fakeClient(clock, { hi: [error] });
    const { s, outcomes } = sender(clock, client);
    const outcome = await (async () => {
      const p = s.send(text('61371989950', 'hi'));
      await clock.advance(60_000);
      return p;
    })();
    expect(outcome).toMatchObject({ ok: false, attempts: 1, error });
    expect(outcomes).toEqual([outcome]);
  });

  it('keeps order within a chat, one in flight per chat, chats in parallel up to the concurrency', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, { 'a-1': [needAuth(), needAuth()], 'b-0': [new ServerError(failure(500, 'internal error'), null)] });
    const { s } = sender(clock, client, { concurrency: 2 });
    const all: Array<Promise<SendOutcome>> = [];
    for (let i = 0; i < 5; i++) for (const chat of ['a', 'b', 'c']) all.push(s.send(text(`6137198995${chat.charCodeAt(0) % 10}`, `${chat}-${i}`)));
    await clock.advance(60_000);
    const results = await Promise.all(all);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(client.maxInFlight).toBe(2);
    const firstSuccess = new Map<string, number>();
    client.calls.forEach((c, i) => firstSuccess.set(c.request.body, i));
    for (const chat of ['a', 'b', 'c']) {
      const order = [0, 1, 2, 3, 4].map((i) => firstSuccess.get(`${chat}-${i}`) as number);
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
  });

  it('holds messages while the tracker says the channel cannot send, and sends when it can', async () => {
    const clock = new VirtualClock();
    const tracker = new ChannelStatusTracker({ clock });
    const post = (text: StatusText, uptime: number) =>
      tracker.handle(parseWebhook({ health: { start_at: 1, uptime, status: channelStatus(text) }, event: { type: 'channel', event: 'post' }, channel_id: 'X' }));
    post('LAUNCH', 1);
    const client = fakeClient(clock);
    const { s } = sender(clock, client, { tracker });
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(30_000);
    expect(client.calls).toHaveLength(0);
    post('AUTH', 31);
    await clock.advance(0);
    expect((await outcome).ok).toBe(true);
  });

  it('fails a message that waited longer than maxWaitForAuthMs', async () => {
    const clock = new VirtualClock();
    const tracker = new ChannelStatusTracker({ clock });
    tracker.handle(parseWebhook({ health: { start_at: 1, uptime: 1, status: channelStatus('QR') }, event: { type: 'channel', event: 'post' }, channel_id: 'X' }));
    const { s } = sender(clock, fakeClient(clock), { tracker, retry: { maxWaitForAuthMs: 60_000 } });
    const outcome = s.send(text('61371989950', 'hi'));
    await clock.advance(60_000);
    const result = await outcome;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ name: 'SenderError', kind: 'auth_timeout' });
  });

  it('ends queued and waiting messages as closed on close(), and idle() resolves', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock, { 'a-0': [needAuth()] });
    const { s } = sender(clock, client);
    const first = s.send(text('61371989950', 'a-0'));
    const second = s.send(text('61371989950', 'a-1'));
    await clock.advance(0);
    expect(s.pending).toBe(2);
    s.close();
    const idle = s.idle();
    await clock.advance(0);
    await idle;
    expect(await first).toMatchObject({ ok: false, error: { kind: 'closed' } });
    expect(await second).toMatchObject({ ok: false, attempts: 0, error: { kind: 'closed' } });
    expect(await s.send(text('61371989950', 'late'))).toMatchObject({ ok: false, error: { kind: 'closed' } });
  });

  it('uses the idempotency key the caller gives', async () => {
    const clock = new VirtualClock();
    const client = fakeClient(clock);
    const { s } = sender(clock, client);
    const outcome = s.send(text('61371989950', 'hi'), { idempotencyKey: 'echo-ABC' });
    await clock.advance(0);
    expect((await outcome).idempotencyKey).toBe('echo-ABC');
    expect(client.calls[0]?.key).toBe('echo-ABC');
  });
});
