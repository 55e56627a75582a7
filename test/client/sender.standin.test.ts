import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ChannelStatusTracker, GateClient, ResilientSender, nodeWebhookHandler, type RetryReason, type SendOutcome } from '@wagate/client';
import { seeded } from '../support/receiver.js';
import { startWhapiStandIn, type Fault, type StandIn } from './support/whapi-standin.js';

const CHATS = ['61371989950', '61371989951', '61371989952', '61371989953', '61371989954'];
const PER_CHAT = 100;
const SLOW_RETRY_AFTER_AT = new Set([40, 260]);

let standIn: StandIn;
const closers: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** Faults on a seeded roll per attempt: rate limits, failures before and after accepting, drops and slow answers. */
function faultPlan(random: () => number): (attempt: number) => Fault {
  return (attempt) => {
    if (SLOW_RETRY_AFTER_AT.has(attempt)) return { status: 429, retryAfter: '1' };
    const roll = random();
    if (roll < 0.04) return { status: 429, retryAfter: '0' };
    if (roll < 0.08) return 'error_before';
    if (roll < 0.12) return 'error_after';
    if (roll < 0.15) return 'drop_after';
    if (roll < 0.17) return { slowAfterMs: 400 };
    return 'none';
  };
}

describe('ResilientSender against a Whapi.Cloud stand-in (no send hold)', () => {
  it('sends 500 messages exactly once, in order per chat, through 401 windows, 429s, 500s and lost answers', async () => {
    standIn = await startWhapiStandIn();
    closers.push(() => standIn.close());
    standIn.faults = faultPlan(seeded(20260101));

    const gate = new GateClient({ baseUrl: standIn.url, token: standIn.token, timeoutMs: 200 });
    const tracker = new ChannelStatusTracker({ client: gate, quietMs: 2_000, downPollMs: 100 });
    const hooks = createServer(nodeWebhookHandler({ onEvent: (event, delivery) => void tracker.handle(event, delivery) }));
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => hooks.close(() => r())));
    standIn.webhookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/`;
    tracker.start();
    closers.push(() => tracker.stop());
    await tracker.waitForAuth(2_000);

    const sender = new ResilientSender({
      client: gate,
      tracker,
      concurrency: 4,
      retry: { authorization: { baseMs: 20, maxMs: 200, maxRetries: 60 }, transient: { baseMs: 20, maxMs: 200, maxRetries: 30 } },
    });
    const retries: Record<RetryReason, number> = { authorization: 0, rate_limited: 0, server: 0, network: 0 };
    sender.on('retry', (r) => (retries[r.reason] += 1));

    // Reconnect windows while sending: every other one without a webhook, so only a 401 tells.
    let windows = 0;
    let stop = false;
    const driver = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, 120));
        if (stop) break;
        const silent = windows++ % 2 === 1;
        standIn.setStatus('LAUNCH', { silent });
        await new Promise((r) => setTimeout(r, 80));
        standIn.setStatus('AUTH', { silent });
      }
    })();

    const outcomes: Array<Promise<SendOutcome>> = [];
    for (let i = 0; i < PER_CHAT; i++) for (const [c, to] of CHATS.entries()) outcomes.push(sender.send({ to, body: `chat${c}-${i}` }));
    const invalid = sender.send({ to: 'not-a-phone', body: 'never' });
    const results = await Promise.all(outcomes);
    stop = true;
    await driver;

    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(await invalid).toMatchObject({ ok: false, attempts: 1, error: { kind: 'bad_request' } });

    const count = new Map<string, number>();
    for (const a of standIn.accepted) count.set(a.body, (count.get(a.body) ?? 0) + 1);
    expect(standIn.accepted).toHaveLength(CHATS.length * PER_CHAT);
    expect([...count.values()].every((n) => n === 1)).toBe(true);
    for (const [c, to] of CHATS.entries()) {
      const order = standIn.accepted.filter((a) => a.to === to).map((a) => a.body);
      expect(order).toEqual(Array.from({ length: PER_CHAT }, (_, i) => `chat${c}-${i}`));
    }

    // Every kind of retry happened, and lost answers were replayed by key instead of sent again.
    expect(windows).toBeGreaterThan(3);
    expect(retries.authorization).toBeGreaterThan(0);
    expect(retries.rate_limited).toBeGreaterThan(0);
    expect(retries.server).toBeGreaterThan(0);
    expect(retries.network).toBeGreaterThan(0);
    const replayed = standIn.attempts.filter((a) => a.replayed);
    expect(replayed.length).toBeGreaterThan(0);
    console.log(`stand-in: ${standIn.attempts.length} attempts, ${replayed.length} replays, ${windows} reconnect windows, retries ${JSON.stringify(retries)}`);

    // Retry-After: 1 was honoured: the next attempt with that key came at least a second later.
    const slow = standIn.attempts.filter((a) => a.status === 429).filter((a) => standIn.attempts.some((b) => b.key === a.key && b.at - a.at >= 990));
    expect(slow.length).toBeGreaterThanOrEqual(SLOW_RETRY_AFTER_AT.size);
    for (const a of standIn.attempts.filter((x) => x.status === 429)) {
      const next = standIn.attempts.find((b) => b.key === a.key && b.at > a.at);
      expect(next).toBeDefined();
    }

    // The tracker agrees with the server once things are quiet.
    await tracker.refresh();
    expect(tracker.status).toBe((await gate.health({ wakeup: false })).status.text);
  }, 60_000);

  it('never retries a send refused for an invalid token', async () => {
    const gate = new GateClient({ baseUrl: standIn.url, token: 'wrong' });
    const sender = new ResilientSender({ client: gate });
    const before = standIn.attempts.length;
    expect(await sender.send({ to: CHATS[0] as string, body: 'x' })).toMatchObject({ ok: false, attempts: 1, error: { kind: 'invalid_token' } });
    expect(standIn.attempts.length).toBe(before);
  });
});
