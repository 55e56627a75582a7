import { UNORDERED_PER_QUEUE } from '../../src/store/rows.js';
import { expect, it } from 'vitest';
import { until, type Call } from '../support/http.js';
import type { Receiver } from '../support/receiver.js';
import { afterAttempts, closeAfterEach, deliveries, events, FAST, gateway, hook, oneEventChannel, reach, receiver, settle, statusOf, timestamps, virtualClock } from './harness.js';

// SPEC §5: a slow or dead receiver never delays other webhooks or other channels. The hanging
// attempts are real (a receiver that never answers, a real timeout); the first two tests run on
// the wall clock, the last two move virtual time to make bursts and retries while attempts hang.

closeAfterEach();

const TIMEOUT_MS = 1000;
/** How soon after a status change its event must reach a healthy receiver. */
const PROMPT_MS = 1000;

interface HistoryRow {
  at: number;
  to: string;
}

/** The wall-clock time at which the channel entered each status, first time only. */
async function enteredAt(gate: Call): Promise<Map<string, number>> {
  const res = await gate<{ history: HistoryRow[] }>('GET', '/health/history?count=100');
  const at = new Map<string, number>();
  for (const h of [...res.body.history].reverse()) if (!at.has(h.to)) at.set(h.to, h.at);
  return at;
}

/** Checks that `r` got the channel's `statuses` within PROMPT_MS of each change. */
async function expectPrompt(r: Receiver, gate: Call, channelId: string, statuses: string[]): Promise<void> {
  await until(() => statuses.every((s) => r.received.some((x) => x.json.channel_id === channelId && statusOf(x) === s)), `${statuses.join(', ')} at ${r.url}`, 5_000);
  const at = await enteredAt(gate);
  for (const s of statuses) {
    const arrival = r.received.find((x) => x.json.channel_id === channelId && statusOf(x) === s)!;
    expect(arrival.at - at.get(s)!, `${s} reached ${r.url} ${arrival.at - at.get(s)!} ms after the change`).toBeLessThan(PROMPT_MS);
  }
}

it('delivers to the other webhooks of the channel and to other channels while one receiver hangs', async () => {
  const gw = await gateway({ env: { WAGATE_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) } });
  const hanging = await receiver();
  const sibling = await receiver();
  const elsewhere = await receiver();
  hanging.respond('hang');

  const a = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(hanging), hook(sibling)] } });
  await expectPrompt(sibling, a.gate, a.id, ['INIT', 'LAUNCH', 'QR']);
  // The hanging receiver holds INIT, unanswered; the rest of its queue waits behind it.
  expect(hanging.received.map(statusOf)).toEqual(['INIT']);
  const held = (await deliveries(a.gate)).deliveries.filter((d) => d.url === `${hanging.url}/hook`);
  expect(held.map((d) => d.status)).toEqual(['pending', 'pending', 'pending']);
  const behind = [...held].sort((x, y) => x.id - y.id).slice(1);
  expect(behind.map((d) => d.attempts)).toEqual([0, 0]);

  const b = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [{ url: `${elsewhere.url}/b`, events: events('channel.post', 'users.post') }] } });
  await expectPrompt(elsewhere, b.gate, b.id, ['INIT', 'LAUNCH', 'QR']);
  expect((await b.gate('POST', '/sandbox/scan')).status).toBe(200);
  await expectPrompt(elsewhere, b.gate, b.id, ['AUTH']);
  expect((await a.gate('POST', '/sandbox/scan')).status).toBe(200);
  await expectPrompt(sibling, a.gate, a.id, ['AUTH']);

  // The hanging receiver saw only its first event's attempts, none of them answered.
  expect(hanging.received.every((x) => statusOf(x) === 'INIT')).toBe(true);
});

it('times an unanswered attempt out after WAGATE_WEBHOOK_TIMEOUT_MS and records why', async () => {
  const gw = await gateway({ env: { WAGATE_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) } });
  const hanging = await receiver();
  hanging.respond('hang');
  const started = Date.now();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(hanging)] } });

  await until(async () => (await deliveries(ch.gate)).deliveries.some((d) => d.attempts === 1), 'the timed-out attempt', 5_000);
  const [first] = (await deliveries(ch.gate)).deliveries.filter((d) => d.attempts === 1);
  expect(first!.last_error).toMatch(/timeout/i);
  expect(first!.last_status).toBeNull();
  expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
});

// With `ordered: false` every pending delivery of a queue may be in flight at once; a burst to a
// dead receiver must still leave room for the channel's other webhooks.
it('keeps delivering to other webhooks while a burst of events hangs at an unordered receiver', async () => {
  const clock = virtualClock();
  // A long budget per attempt, so a starved webhook would show as a delay of seconds.
  const gw = await gateway({ clock, env: { WAGATE_WEBHOOK_TIMEOUT_MS: '5000' } });
  const hanging = await receiver();
  const sibling = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(sibling), hook(hanging, { ordered: false })] } });
  await reach(ch.gate, 'QR', clock);
  expect((await ch.gate('POST', '/sandbox/scan')).status).toBe(200);
  await until(() => sibling.received.some((x) => statusOf(x) === 'AUTH'), 'AUTH at the sibling');
  hanging.respond('hang');

  // 30 drops in a few seconds of virtual time: 90 status changes, each an attempt that hangs.
  // Each step notes the wall-clock time at which virtual time reached a point.
  expect((await ch.gate('POST', '/sandbox/flap', { times: 30, interval_ms: 5000, duration_ms: 10 })).status).toBe(200);
  const steps: Array<{ virtual: number; real: number }> = [];
  for (let i = 0; i < 30 * 50; i++) {
    await clock.advance(100);
    steps.push({ virtual: clock.now(), real: Date.now() });
  }
  const log = (await deliveries(ch.gate)).deliveries.filter((d) => d.url === `${sibling.url}/hook`);
  expect(log.length).toBeGreaterThanOrEqual(4 + 90);
  await until(() => new Set(sibling.received.map((x) => x.headers['webhook-id'])).size >= log.length, `all ${log.length} events at the sibling`, 20_000);

  // The dead receiver really was tried, several attempts at once (an unordered queue's share).
  expect(hanging.received.length).toBeGreaterThanOrEqual(UNORDERED_PER_QUEUE);
  const writtenAt = new Map(log.map((d) => [d.webhook_id, steps.find((s) => s.virtual >= d.created_at)?.real ?? 0]));
  const lags = sibling.received.map((x) => x.at - (writtenAt.get(String(x.headers['webhook-id'])) ?? x.at));
  const late = lags.filter((lag) => lag >= PROMPT_MS);
  expect(late, `${late.length} of ${lags.length} events reached the sibling ${PROMPT_MS} ms or more after they were written`).toEqual([]);
});

// The retry schedule of one webhook must not depend on whether another one's attempt is still
// in flight: the dispatcher's next wake-up is the earliest due retry, not its idle interval.
it('retries a failing webhook on time while another webhook of the channel hangs', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock, env: { WAGATE_WEBHOOK_TIMEOUT_MS: '60000' } });
  const hanging = await receiver();
  const flaky = await receiver();
  hanging.respond('hang');
  let calls = 0;
  flaky.respond(() => (++calls === 1 ? 500 : 200));
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(hanging), hook(flaky)] });
  const t0 = clock.now() / 1000;
  await until(() => hanging.received.length === 1, 'the hanging attempt');
  await afterAttempts(ch.gate, 1, `${flaky.url}/hook`);
  await settle();

  await clock.advance(3000);
  const onTime = await until(() => flaky.received.length === 2, 'the retry at 3 s', 2_000).then(() => true, () => false);
  if (!onTime) await clock.advance(10_000); // let a late retry happen, to report when it came
  await until(() => flaky.received.length === 2, 'the retry');
  expect(timestamps(flaky.received)).toEqual([t0, t0 + 3]);
  expect(hanging.received).toHaveLength(1);
});
