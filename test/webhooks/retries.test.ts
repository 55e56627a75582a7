import { describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import {
  advance,
  afterAttempts,
  closeAfterEach,
  deliveries,
  eventOf,
  events,
  gateway,
  hook,
  oneEventChannel,
  receiver,
  timestamps,
  virtualClock,
} from './harness.js';

// SPEC §5 delivery: Whapi's linear backoff, Retry-After, redirects, and the failing alert; all
// in virtual time, read back from each attempt's webhook-timestamp and from the delivery log.

closeAfterEach();

describe('linear backoff', () => {
  it('retries 500, 500, then 200 at n × callback_backoff_delay_ms', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    let calls = 0;
    r.respond(() => (++calls <= 2 ? 500 : 200));
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 4000, webhooks: [hook(r)] });
    const t0 = clock.now();

    const first = await afterAttempts(ch.gate, 1);
    expect(first).toMatchObject({ status: 'pending', last_status: 500, next_attempt_at: t0 + 4000 });
    await advance(gw, clock, 4000);
    const second = await afterAttempts(ch.gate, 2);
    expect(second).toMatchObject({ status: 'pending', last_status: 500, next_attempt_at: t0 + 4000 + 8000 });
    await advance(gw, clock, 8000);
    const done = await afterAttempts(ch.gate, 3);

    expect(done).toMatchObject({ status: 'delivered', attempts: 3, last_status: 200, delivered_at: t0 + 12_000 });
    const s0 = t0 / 1000;
    expect(timestamps(r.received)).toEqual([s0, s0 + 4, s0 + 12]);
  });

  it('caps the delay at max_callback_backoff_delay_ms', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    r.respond({ status: 500 });
    const settings = { callback_backoff_delay_ms: 15_000, max_callback_backoff_delay_ms: 600_000, webhooks: [hook(r)] };
    const ch = await oneEventChannel(gw, settings);

    // 40 × 15 s reaches the 600 s cap; two more attempts show that it holds.
    const delays: number[] = [];
    for (let n = 1; n <= 42; n++) {
      const d = await afterAttempts(ch.gate, n);
      expect(d.status).toBe('pending');
      delays.push(d.next_attempt_at - clock.now());
      await advance(gw, clock, d.next_attempt_at - clock.now());
    }
    await afterAttempts(ch.gate, 43);

    const expected = Array.from({ length: 42 }, (_, i) => Math.min((i + 1) * 15_000, 600_000));
    expect(delays).toEqual(expected);
    const ts = timestamps(r.received);
    expect(ts.slice(1).map((t, i) => (t - ts[i]!) * 1000)).toEqual(expected);
  });
});

describe('Retry-After', () => {
  it('waits at least Retry-After on 503 and 429, and the linear delay when that is longer', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] });
    const t0 = clock.now();
    const answers = [
      { status: 503, headers: { 'retry-after': '10' } }, // 10 s > 1 × 3 s
      { status: 429, headers: { 'retry-after': '20' } }, // 20 s > 2 × 3 s
      { status: 503, headers: { 'retry-after': '1' } }, // 1 s < 3 × 3 s: the backoff wins
    ];

    r.respond(answers[0]!);
    let d = await afterAttempts(ch.gate, 1);
    expect(d.next_attempt_at - t0).toBe(10_000);
    r.respond(answers[1]!);
    await advance(gw, clock, 9_999);
    expect(r.received).toHaveLength(1);
    await advance(gw, clock, 1);
    d = await afterAttempts(ch.gate, 2);
    expect(d.next_attempt_at - t0).toBe(10_000 + 20_000);
    r.respond(answers[2]!);
    await advance(gw, clock, 20_000);
    d = await afterAttempts(ch.gate, 3);
    expect(d.next_attempt_at - t0).toBe(30_000 + 9_000);
    r.respond({ status: 200 });
    await advance(gw, clock, 9_000);
    d = await afterAttempts(ch.gate, 4);

    expect(d.status).toBe('delivered');
    const s0 = t0 / 1000;
    expect(timestamps(r.received)).toEqual([s0, s0 + 10, s0 + 30, s0 + 39]);
  });
  it('reads an HTTP-date Retry-After too', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    const t0 = clock.now();
    r.respond({ status: 503, headers: { 'retry-after': new Date(t0 + 60_000).toUTCString() } });
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] });
    const d = await afterAttempts(ch.gate, 1);
    // The virtual clock sits on the wall clock's second, so the date is about 60 s away for both.
    expect(d.next_attempt_at - t0).toBeGreaterThanOrEqual(50_000);
    expect(d.next_attempt_at - t0).toBeLessThanOrEqual(60_000);
  });
});

describe('redirects', () => {
  it.each([301, 302, 307, 308])('treats %i as a failure and does not follow it', async (status) => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    r.respond({ status, headers: { location: `${r.url}/moved` } });
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] });

    const d = await afterAttempts(ch.gate, 1);
    expect(d).toMatchObject({ status: 'pending', last_status: status });
    expect(d.last_error).toMatch(/redirect/i);
    // The attempt is over: had the redirect been followed, /moved would have been asked already.
    expect(r.received.map((x) => x.path)).toEqual(['/hook']);

    r.respond({ status: 200 });
    await advance(gw, clock, 3000);
    expect(await afterAttempts(ch.gate, 2)).toMatchObject({ status: 'delivered' });
    expect(r.received.map((x) => x.path)).toEqual(['/hook', '/hook']);
  });
});

describe('webhook_failing', () => {
  it('tells another webhook subscribed to alerts after five failed attempts, and not the failing one', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const failing = await receiver();
    const alerts = await receiver();
    failing.respond({ status: 500 });
    const webhooks = [hook(failing, { events: events('channel.post', 'alerts.post') }), { url: `${alerts.url}/alerts`, events: events('alerts.post') }];
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks });

    for (let n = 1; n < 5; n++) {
      const d = await afterAttempts(ch.gate, n, `${failing.url}/hook`);
      await advance(gw, clock, d.next_attempt_at - clock.now());
    }
    await afterAttempts(ch.gate, 5, `${failing.url}/hook`);
    await until(() => alerts.received.length >= 1, 'the webhook_failing alert');

    const alert = alerts.received[0]!;
    expect(eventOf(alert)).toBe('alerts.post');
    expect(alert.json.channel_id).toBe(ch.id);
    expect(alert.json.alert).toMatchObject({ kind: 'webhook_failing', webhook: `${failing.url}/hook` });
    expect(failing.received.every((x) => eventOf(x) === 'channel.post')).toBe(true);
    const log = await deliveries(ch.gate);
    expect(log.deliveries.filter((x) => x.event.type === 'alerts' && x.url === `${failing.url}/hook`)).toEqual([]);
  });
});
