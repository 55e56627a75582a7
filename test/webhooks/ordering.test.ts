import { expect, it } from 'vitest';
import { until, type Call } from '../support/http.js';
import type { Received } from '../support/receiver.js';
import {
  advance,
  afterAttempts,
  closeAfterEach,
  deliveries,
  eventOf,
  events,
  FAST,
  firstArrivals,
  gateway,
  reach,
  receiver,
  seqOf,
  statusOf,
  virtualClock,
} from './harness.js';

// SPEC §5 order: deliveries to one webhook from one channel arrive in event order
// (`ordered: true`, the default); `ordered: false` lets later events pass a failing one.

closeAfterEach();

/** A receiver that fails the channel's first event (INIT) while `failing` holds, and notes what it accepted. */
async function failingFirst() {
  const r = await receiver();
  const state = { failing: true, accepted: [] as Received[] };
  r.respond((req) => {
    if (state.failing && statusOf(req) === 'INIT') return 500;
    state.accepted.push(req);
    return 200;
  });
  return { r, state };
}

async function channelWith(ordered: boolean | undefined) {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const { r, state } = await failingFirst();
  const webhook = { url: `${r.url}/hook`, events: events('channel.post', 'channel.patch'), ...(ordered === undefined ? {} : { ordered }) };
  const ch = await gw.createChannel({ sandbox: FAST, settings: { callback_backoff_delay_ms: 3000, webhooks: [webhook] } });
  return { clock, gw, r, state, ch };
}

it('holds later events of the channel while the first one fails, then sends them in event order', async () => {
  const { clock, gw, r, state, ch } = await channelWith(undefined);
  await afterAttempts(ch.gate, 1);
  await reach(ch.gate, 'QR', clock); // LAUNCH, QR and the QR code are written behind INIT
  await advance(gw, clock, 3000);
  await afterAttempts(ch.gate, 2);

  // Only INIT was tried, twice; the receiver would have taken the others, but they waited.
  expect(r.received.map(statusOf)).toEqual(['INIT', 'INIT']);
  const waiting = (await deliveries(ch.gate, 'status=pending')).deliveries;
  expect(waiting).toHaveLength(4);
  expect(waiting.filter((d) => d.attempts === 0)).toHaveLength(3);

  state.failing = false;
  await advance(gw, clock, 6000);
  await until(async () => (await deliveries(ch.gate, 'status=delivered')).total === 4, 'everything delivered');

  const firsts = firstArrivals(r.received);
  expect(firsts.map(seqOf)).toEqual([...firsts.map(seqOf)].sort((a, b) => a - b));
  expect(state.accepted.map(seqOf)).toEqual([...state.accepted.map(seqOf)].sort((a, b) => a - b));
  expect(state.accepted.map((x) => statusOf(x) ?? eventOf(x))).toEqual(['INIT', 'LAUNCH', ...['QR', 'channel.patch']]);
});

it('lets later events pass a failing one with ordered:false', async () => {
  const { clock, gw, r, state, ch } = await channelWith(false);
  await afterAttempts(ch.gate, 1);
  await reach(ch.gate, 'QR', clock);
  await until(() => state.accepted.length === 3, 'LAUNCH, QR and the QR code, past the failing INIT');
  expect((await deliveries(ch.gate, 'status=pending')).deliveries.map((d) => d.webhook_id)).toEqual([r.received[0]!.headers['webhook-id']]);

  state.failing = false;
  await advance(gw, clock, 3000);
  await until(() => state.accepted.length === 4, 'INIT at last');
  expect(state.accepted.map((x) => statusOf(x) ?? eventOf(x))).toEqual(['LAUNCH', 'QR', 'channel.patch', 'INIT']);
});

it('keeps each channel in order while many channels share one receiver', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  // Every third request fails, whatever it carries: retries interleave across the channels.
  let n = 0;
  r.respond(() => (++n % 3 === 0 ? 503 : 200));
  const webhook = { url: `${r.url}/hook`, events: events('channel.post', 'channel.patch', 'users.post') };
  const channels: Array<{ id: string; gate: Call }> = [];
  for (let i = 0; i < 4; i++) channels.push(await gw.createChannel({ sandbox: FAST, settings: { callback_backoff_delay_ms: 3000, webhooks: [webhook] } }));
  for (const ch of channels) await reach(ch.gate, 'QR', clock);
  for (const ch of channels) expect((await ch.gate('POST', '/sandbox/scan')).status).toBe(200);

  await until(async () => {
    let pending = 0;
    for (const ch of channels) pending += (await deliveries(ch.gate, 'status=pending')).total;
    if (pending > 0) await advance(gw, clock, 3000);
    return pending === 0;
  }, 'every channel drained', 30_000);

  const accepted = r.received.filter((_, i) => (i + 1) % 3 !== 0);
  for (const ch of channels) {
    const mine = accepted.filter((x) => x.json.channel_id === ch.id);
    expect(mine.map(seqOf)).toEqual([...mine.map(seqOf)].sort((a, b) => a - b));
    expect(mine.filter((x) => eventOf(x) === 'channel.post').map(statusOf)).toEqual(['INIT', 'LAUNCH', 'QR', 'AUTH']);
  }
});
