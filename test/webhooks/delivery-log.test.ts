import type { DeliveryDetail } from '@wagate/protocol';
import { expect, it } from 'vitest';
import { until } from '../support/http.js';
import {
  advance,
  afterAttempts,
  closeAfterEach,
  deliveries,
  deliveryWhere,
  FAST,
  gateway,
  hook,
  oneEventChannel,
  reach,
  receiver,
  seqOf,
  statusOf,
  virtualClock,
} from './harness.js';

// SPEC §5 (extension): GET /webhooks/deliveries (filter by status, paged),
// POST /webhooks/deliveries/{id}/replay, POST /webhooks/deliveries/replay (a time range).

closeAfterEach();

it('filters by status: delivered, pending and failed', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const ok = await receiver();
  const down = await receiver();
  const doomed = await receiver();
  down.respond({ status: 500 });
  doomed.respond({ status: 500 });
  const webhooks = [hook(ok), hook(down), hook(doomed, { webhook_max_age_seconds: 15 })];
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks });
  for (let n = 1; n <= 3; n++) {
    const d = await afterAttempts(ch.gate, n, `${doomed.url}/hook`);
    if (d.status === 'failed') break;
    await advance(gw, clock, d.next_attempt_at - clock.now());
  }
  await deliveryWhere(ch.gate, (d) => d.url === `${doomed.url}/hook` && d.status === 'failed', 'the doomed delivery failed');

  const all = await deliveries(ch.gate);
  expect(all.total).toBe(3);
  for (const [status, url] of [['delivered', ok.url], ['pending', down.url], ['failed', doomed.url]] as const) {
    const listed = await deliveries(ch.gate, `status=${status}`);
    expect(listed.total, status).toBe(1);
    expect(listed.deliveries.map((d) => [d.status, d.url])).toEqual([[status, `${url}/hook`]]);
  }
  const delivered = (await deliveries(ch.gate, 'status=delivered')).deliveries[0]!;
  expect(delivered).toMatchObject({ channel_id: ch.id, event: { type: 'channel', event: 'post' }, attempts: 1, last_status: 200, replay_of: null });
  expect(delivered.delivered_at).toBe(delivered.created_at);
  expect((await ch.gate('GET', '/webhooks/deliveries?status=lost')).status).toBe(400);
});

it('pages newest first with count and offset, and reports the total', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(r)] } });
  await reach(ch.gate, 'QR', clock);
  expect((await ch.gate('POST', '/sandbox/scan')).status).toBe(200);
  expect((await gw.partner('POST', `/partner/channels/${ch.id}/restart`)).status).toBe(200);
  await until(async () => {
    await clock.advance(10);
    return (await deliveries(ch.gate, 'status=delivered')).total === 7;
  }, 'INIT LAUNCH QR AUTH, then INIT LAUNCH AUTH after the restart, delivered');

  const all = await deliveries(ch.gate);
  expect(all.total).toBe(7);
  const ids = all.deliveries.map((d) => d.id);
  expect(ids).toEqual([...ids].sort((a, b) => b - a));

  const pages = [];
  for (let offset = 0; offset < 9; offset += 3) {
    const page = await deliveries(ch.gate, `count=3&offset=${offset}`);
    expect(page).toMatchObject({ total: 7, offset, count: page.deliveries.length });
    pages.push(...page.deliveries.map((d) => d.id));
  }
  expect(pages).toEqual(ids);
  expect((await deliveries(ch.gate, 'count=3&offset=7')).deliveries).toEqual([]);
  expect((await ch.gate('GET', '/webhooks/deliveries?count=0')).status).toBe(400);
  expect((await ch.gate('GET', '/webhooks/deliveries?offset=-1')).status).toBe(400);
});

it('replays every delivery of a time range, since inclusive and until exclusive, optionally of one status', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(r)] } });
  await reach(ch.gate, 'QR', clock);
  await until(async () => (await deliveries(ch.gate, 'status=delivered')).total === 3, 'INIT, LAUNCH and QR delivered');
  const [qr, launch, init] = (await deliveries(ch.gate)).deliveries;
  expect([init, launch, qr].map((d) => d!.created_at)).toEqual([...new Set([init, launch, qr].map((d) => d!.created_at))]);

  const none = await ch.gate('POST', '/webhooks/deliveries/replay', { since: init!.created_at, until: qr!.created_at + 1, status: 'failed' });
  expect(none.status).toBe(200);
  expect(none.body.replayed).toBe(0);

  const before = r.received.length;
  const res = await ch.gate('POST', '/webhooks/deliveries/replay', { since: init!.created_at, until: qr!.created_at, status: 'delivered' });
  expect(res.status).toBe(200);
  expect(res.body.replayed).toBe(2);
  expect(res.body.deliveries.map((d: { replay_of: number }) => d.replay_of)).toEqual([init!.id, launch!.id]);
  await until(() => r.received.length === before + 2, 'the two replays');
  const replayed = r.received.slice(before);
  expect(replayed.map(statusOf)).toEqual(['INIT', 'LAUNCH']);
  expect(replayed.map((x) => x.headers['webhook-id'])).toEqual([init!.webhook_id, launch!.webhook_id]);
  expect(replayed.map(seqOf)).toEqual([...replayed.map(seqOf)].sort((a, b) => a - b));
  await until(async () => (await deliveries(ch.gate, 'status=delivered')).total === 5, 'the copies delivered');

  expect((await ch.gate('POST', '/webhooks/deliveries/replay', { since: 0 })).status).toBe(400);
});

it("answers 404 for a delivery id of another channel and lists only the channel's own deliveries", async () => {
  const gw = await gateway();
  const r = await receiver();
  const a = await oneEventChannel(gw, { webhooks: [hook(r)] });
  const b = await oneEventChannel(gw, { webhooks: [hook(r)] });
  const ofA = await deliveryWhere(a.gate, (d) => d.status === 'delivered', "A's delivery");
  const ofB = await deliveryWhere(b.gate, (d) => d.status === 'delivered', "B's delivery");
  expect((await deliveries(a.gate)).deliveries.map((d) => d.id)).toEqual([ofA.id]);
  expect((await deliveries(b.gate)).deliveries.map((d) => d.id)).toEqual([ofB.id]);

  const crossed = await b.gate('POST', `/webhooks/deliveries/${ofA.id}/replay`);
  expect(crossed.status).toBe(404);
  expect(crossed.body.error.code).toBe(404);
  expect((await b.gate('POST', '/webhooks/deliveries/999999/replay')).status).toBe(404);
  expect((await deliveries(a.gate)).total).toBe(1);
  expect(r.received).toHaveLength(2);

  const own = await a.gate('POST', `/webhooks/deliveries/${ofA.id}/replay`);
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({ replay_of: ofA.id, channel_id: a.id, webhook_id: ofA.webhook_id });
  await until(() => r.received.length === 3, 'the replay');
});

it("the delivery detail lists each attempt: when, the receiver's status, the first bytes of its answer; and the next attempt", async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  r.respond({ status: 503, body: 'down for maintenance' });
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] });
  const detail = async (id: number) => (await gw.partner<DeliveryDetail>('GET', `/partner/channels/${ch.id}/deliveries/${id}`)).body;

  const first = await afterAttempts(ch.gate, 1);
  const firstAt = clock.now();
  r.respond({ status: 500, body: `${'x'.repeat(600)}TAIL` });
  await advance(gw, clock, first.next_attempt_at - clock.now());
  const second = await afterAttempts(ch.gate, 2);
  const pending = await detail(second.id);
  expect(pending.delivery).toMatchObject({ status: 'pending', attempts: 2, next_attempt_at: second.next_attempt_at });
  expect(pending.delivery.next_attempt_at).toBeGreaterThan(clock.now());
  expect(pending.attempt_log).toMatchObject([
    { attempt: 2, at: first.next_attempt_at, status: 500, error: 'HTTP 500', answer: 'x'.repeat(512) },
    { attempt: 1, at: firstAt, status: 503, error: 'HTTP 503', answer: 'down for maintenance' },
  ]);
  for (const a of pending.attempt_log) expect(a.duration_ms).toBeGreaterThanOrEqual(0);

  r.respond({ status: 200, body: '{"ok":true}' });
  await advance(gw, clock, second.next_attempt_at - clock.now());
  const done = await deliveryWhere(ch.gate, (d) => d.status === 'delivered', 'delivered on the third attempt');
  const log = (await detail(done.id)).attempt_log;
  expect(log.map((a) => [a.attempt, a.status, a.error, a.answer])).toEqual([
    [3, 200, null, '{"ok":true}'],
    [2, 500, 'HTTP 500', 'x'.repeat(512)],
    [1, 503, 'HTTP 503', 'down for maintenance'],
  ]);
});
