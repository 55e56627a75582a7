import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelStatusTracker, ResilientSender, nodeWebhookHandler, type FlappingSignal, type RetryReason, type SendOutcome, type StatusText } from '@wagate/client';
import { generateSecret } from '../../src/webhooks/signing.js';
import { until } from '../support/http.js';
import type { GatewayProcess } from '../support/process.js';
import { describeOutcome, registerWebhook, startEchoBot } from '../../examples/echo-bot/bot.js';
import { STATUS_EVENTS, createSandboxChannel, listen, startGateway } from './support/wagate.js';

const CHATS = ['61371989950', '61371989951', '61371989952', '61371989953', '61371989954'];
/** Chats 0-2 go through a sender that follows the tracker; 3-4 through one that only retries. */
const GUARDED = new Set([0, 1, 2]);
const TOTAL = 500;

let gw: GatewayProcess;
const closers: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await gw?.kill('SIGKILL');
});
beforeAll(async () => {
  gw = await startGateway();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the client against a real wagate with a sandbox channel', () => {
  it('sends 500 messages exactly once and in order per chat through a flap storm and a logout-and-rescan', async () => {
    const secret = generateSecret();
    let tracker: ChannelStatusTracker | null = null;
    const refused: unknown[] = [];
    const events: string[] = [];
    const hooks = await listen(
      nodeWebhookHandler({
        secret,
        onEvent: (event, delivery) => {
          events.push(event.name);
          tracker?.handle(event, delivery);
        },
        onError: (err) => refused.push(err),
      }),
    );
    closers.push(() => hooks.close());
    const channel = await createSandboxChannel(gw, { send_hold_ms: 0, webhooks: [{ url: hooks.url, secret, events: STATUS_EVENTS }] });
    const { gate, call } = channel;

    tracker = new ChannelStatusTracker({ client: gate, quietMs: 5_000, downPollMs: 1_000 });
    const drops: string[] = [];
    const flapping: FlappingSignal[] = [];
    tracker.on('change', (c) => {
      if (c.from === 'AUTH' && c.to !== 'AUTH') drops.push(`${c.to} by ${c.cause}`);
    });
    tracker.on('flapping', (f) => flapping.push(f));
    tracker.start();
    closers.push(() => tracker?.stop());
    await gate.health(); // wakeup=true: the channel starts
    await tracker.waitFor((s) => s === 'QR', 10_000);
    expect((await call('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Jonathan' } })).status).toBe(200);
    await tracker.waitForAuth(5_000);

    const retry = { authorization: { baseMs: 50, maxMs: 500, maxRetries: 200 }, transient: { baseMs: 50, maxMs: 500, maxRetries: 20 } };
    const guarded = new ResilientSender({ client: gate, tracker, retry, concurrency: 3 });
    const bare = new ResilientSender({ client: gate, retry, concurrency: 2 });
    const retries: Record<'guarded' | 'bare', Record<RetryReason, number>> = {
      guarded: { authorization: 0, rate_limited: 0, server: 0, network: 0 },
      bare: { authorization: 0, rate_limited: 0, server: 0, network: 0 },
    };
    guarded.on('retry', (r) => (retries.guarded[r.reason] += 1));
    bare.on('retry', (r) => (retries.bare[r.reason] += 1));

    const outcomes: Array<Promise<SendOutcome>> = [];
    let next = 0;
    /** Queues messages up to `upTo` (exclusive), spread evenly over `overMs`. */
    const produce = async (upTo: number, overMs: number): Promise<void> => {
      const [from, started] = [next, Date.now()];
      for (; next < upTo; next++) {
        const c = next % CHATS.length;
        const request = { to: CHATS[c] as string, body: `chat${c}-${Math.floor(next / CHATS.length)}` };
        outcomes.push((GUARDED.has(c) ? guarded : bare).send(request));
        await sleep(started + ((next - from + 1) * overMs) / (upTo - from) - Date.now());
      }
    };
    const serverSays = async (): Promise<StatusText> => (await gate.health({ wakeup: false })).status.text;
    /** Blips back to back: each as soon as the server reports AUTH again (a fixed interval would skip blips on a loaded machine). */
    const storm = async (blips: number): Promise<void> => {
      for (let done = 0; done < blips; ) {
        await until(async () => (await serverSays()) === 'AUTH', 'AUTH before a blip', 10_000, 20);
        if ((await call('POST', '/sandbox/blip', { duration_ms: 100 })).status !== 200) continue;
        done += 1;
        await until(async () => (await serverSays()) !== 'AUTH', 'the blip to start', 5_000, 10);
      }
      await until(async () => (await serverSays()) === 'AUTH', 'AUTH after the storm', 10_000, 20);
    };
    const waitAuth = (what: string) => tracker.waitForAuth(10_000).catch(() => Promise.reject(new Error(`no AUTH ${what}; status ${tracker?.status}`)));

    // Phase A, send_hold_ms 0: a storm of 10 blips; the client's own retries carry the sends.
    await Promise.all([storm(10), produce(300, 8_000)]);
    await waitAuth('after the storm');

    // Phase B: the phone logs the device out; a new pairing round; the phone scans again.
    expect((await call('POST', '/sandbox/unlink')).status).toBe(200);
    const rescan = (async () => {
      await tracker.waitFor((s: StatusText | null) => s === 'QR', 10_000);
      await sleep(300);
      expect((await call('POST', '/sandbox/scan', { user: { id: '61371989955', name: 'Second' } })).status).toBe(200);
    })();
    await produce(400, 1_000);
    await rescan;
    await waitAuth('after the rescan');

    // Phase C: wagate's send hold back on; a short flap is absorbed by the server as well.
    await gate.settings.patch({ send_hold_ms: 3_000 });
    expect((await call('POST', '/sandbox/flap', { times: 3, interval_ms: 1_500, duration_ms: 100 })).status).toBe(200);
    await produce(TOTAL, 4_000);

    const results = await Promise.all(outcomes);
    expect(results.filter((r) => !r.ok)).toEqual([]);

    // The simulated network carried each message once, in order per chat.
    const { body: sent } = await call<{ messages: Array<{ chat_id: string; body: string }>; total: number }>('GET', '/sandbox/sent');
    const counts = new Map<string, number>();
    for (const m of sent.messages) counts.set(m.body, (counts.get(m.body) ?? 0) + 1);
    expect(sent.total).toBe(TOTAL);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const [c, phone] of CHATS.entries()) {
      const order = sent.messages.filter((m) => m.chat_id === `${phone}@s.whatsapp.net`).map((m) => m.body);
      expect(order).toEqual(Array.from({ length: TOTAL / CHATS.length }, (_, i) => `chat${c}-${i}`));
    }

    // The storm and the logout really happened (per the server's history), the tracker saw them,
    // and the client's own retries were exercised.
    const { history } = await gate.healthHistory({ count: 500 });
    const serverDrops = history.filter((h) => h.from === 'AUTH' && h.to !== 'AUTH');
    expect(serverDrops.length).toBeGreaterThanOrEqual(10 + 1);
    expect(drops.length).toBeGreaterThanOrEqual(10 + 1);
    expect(events).toEqual(expect.arrayContaining(['users.delete', 'users.post', 'alerts.post']));
    expect(tracker.user?.id).toBe('61371989955');
    expect(flapping.map((f) => f.source)).toEqual(expect.arrayContaining(['tracker', 'alert']));
    expect(retries.bare.authorization).toBeGreaterThan(0);
    expect(refused).toEqual([]);
    console.log(`wagate: ${drops.length} drops seen by the tracker; retries ${JSON.stringify(retries)}`);

    // Once things are quiet, the tracker agrees with GET /health.
    await until(async () => tracker?.status === (await gate.health({ wakeup: false })).status.text, 'tracker to match /health', 5_000);
    expect(tracker.status).toBe('AUTH');
  }, 60_000);

  it('runs the echo bot: each inbound text is echoed once, even when its webhook is delivered again', async () => {
    const secret = generateSecret();
    const channel = await createSandboxChannel(gw, {});
    const outcomes: SendOutcome[] = [];
    const bot = await startEchoBot({ baseUrl: gw.url, token: channel.token, secret, port: 0, onOutcome: (o) => outcomes.push(o) });
    closers.push(() => bot.close());
    await registerWebhook(bot.gate, bot.url, secret);
    await bot.gate.health(); // wakeup: the channel starts
    await bot.tracker.waitFor((s) => s === 'QR', 10_000);
    await channel.call('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Bot' } });
    await bot.tracker.waitForAuth(5_000);

    await channel.call('POST', '/sandbox/inbound', { from: '4915112345678', body: 'hello' });
    await channel.call('POST', '/sandbox/inbound', { from: '4915112345679', body: 'how are you?' });
    await until(() => outcomes.length === 2, 'two echoes', 15_000);
    expect(outcomes.every((o) => o.ok)).toBe(true);

    // At-least-once delivery: the same messages.post again must not make a second echo.
    const { body: log } = await channel.call<{ deliveries: Array<{ id: number; event: { type: string } }> }>('GET', '/webhooks/deliveries?count=100');
    for (const d of log.deliveries.filter((x) => x.event.type === 'messages')) await channel.call('POST', `/webhooks/deliveries/${d.id}/replay`);
    await until(() => outcomes.length >= 4, 'the replayed deliveries to be answered', 15_000);
    const { body: sent } = await channel.call<{ messages: Array<{ chat_id: string; body: string }> }>('GET', '/sandbox/sent');
    expect(sent.messages.map((m) => `${m.chat_id} ${m.body}`).sort()).toEqual([
      '4915112345678@s.whatsapp.net echo: hello',
      '4915112345679@s.whatsapp.net echo: how are you?',
    ]);
    // The log says "echoed" once per message sent, and names the replays for what they are.
    const lines = outcomes.map(describeOutcome);
    expect(lines.filter((l) => l.startsWith('echoed to'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('already echoed to'))).toHaveLength(outcomes.length - 2);
    expect(outcomes.filter((o) => o.ok && o.replayed)).toHaveLength(outcomes.length - 2);
  }, 60_000);
});
