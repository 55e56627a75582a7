import { expect, it } from 'vitest';
import { until } from '../support/http.js';
import { advance, afterAttempts, closeAfterEach, deliveries, deliveryWhere, gateway, hook, oneEventChannel, receiver, virtualClock } from './harness.js';

// Issue 11, finding 9: deliveries follow the channel's current settings. A removed webhook's
// pending deliveries are cancelled (and kept in the log as such); a retry or a replay goes to
// the webhook as it is now, and a replay to a webhook that no longer exists is refused.

closeAfterEach();

it("cancels a removed webhook's pending deliveries, keeps them in the log, and never sends them", async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const failing = await receiver();
  const kept = await receiver();
  failing.respond({ status: 500 });
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(failing), hook(kept)] });
  const first = await afterAttempts(ch.gate, 1, `${failing.url}/hook`);
  expect(first.status).toBe('pending');
  await until(() => kept.received.length === 1, 'the kept webhook delivered');

  const patch = await ch.gate('PATCH', '/settings', { webhooks: [hook(kept)] });
  expect(patch.status).toBe(200);
  const cancelled = (await deliveries(ch.gate, 'status=cancelled')).deliveries;
  expect(cancelled.map((d) => [d.id, d.url, d.attempts])).toEqual([[first.id, `${failing.url}/hook`, 1]]);
  expect(cancelled[0]!.last_error).toMatch(/removed/);
  expect((await deliveries(ch.gate, 'status=pending')).total).toBe(0);

  // Its retry time comes and goes: nothing is sent to the removed webhook.
  await advance(gw, clock, 60_000);
  await advance(gw, clock, 60_000);
  expect(failing.received).toHaveLength(1);
  expect((await deliveries(ch.gate, 'status=cancelled')).total).toBe(1);
});

it('cancels every pending delivery on DELETE /settings', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  r.respond({ status: 503 });
  const ch = await oneEventChannel(gw, { webhooks: [hook(r), hook(r, { url: `${r.url}/other` })] });
  await afterAttempts(ch.gate, 1, `${r.url}/hook`);
  await afterAttempts(ch.gate, 1, `${r.url}/other`);
  expect((await ch.gate('DELETE', '/settings')).status).toBe(200);
  const log = (await deliveries(ch.gate)).deliveries;
  expect(log.map((d) => d.status)).toEqual(['cancelled', 'cancelled']);
  await advance(gw, clock, 60_000);
  expect(r.received).toHaveLength(2);
});

it('sends a retry with the headers and secret the webhook has now', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  let calls = 0;
  r.respond(() => (++calls === 1 ? 500 : 200));
  const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r, { headers: { 'x-key': 'old' } })] });
  await afterAttempts(ch.gate, 1);
  expect((await ch.gate('PATCH', '/settings', { webhooks: [hook(r, { headers: { 'x-key': 'new' } })] })).status).toBe(200);
  await advance(gw, clock, 3000);
  const done = await deliveryWhere(ch.gate, (d) => d.status === 'delivered', 'the retry delivered');
  expect(done.attempts).toBe(2);
  expect(r.received.map((x) => x.headers['x-key'])).toEqual(['old', 'new']);
});

it('replays to the webhook as it is now, and refuses with 409 once the webhook is gone', async () => {
  const gw = await gateway();
  const r = await receiver();
  const ch = await oneEventChannel(gw, { webhooks: [hook(r, { headers: { 'x-key': 'old' } })] });
  const delivered = await deliveryWhere(ch.gate, (d) => d.status === 'delivered', 'the first delivery');

  expect((await ch.gate('PATCH', '/settings', { webhooks: [hook(r, { headers: { 'x-key': 'new' } })] })).status).toBe(200);
  const copy = await ch.gate('POST', `/webhooks/deliveries/${delivered.id}/replay`);
  expect(copy.status).toBe(200);
  await until(() => r.received.length === 2, 'the replay');
  expect(r.received.map((x) => x.headers['x-key'])).toEqual(['old', 'new']);

  expect((await ch.gate('DELETE', '/settings')).status).toBe(200);
  const total = (await deliveries(ch.gate)).total;
  const refused = await ch.gate('POST', `/webhooks/deliveries/${delivered.id}/replay`);
  expect(refused.status).toBe(409);
  expect(refused.body).toEqual({ error: { code: 409, message: 'webhook no longer exists', details: expect.stringContaining(`${r.url}/hook`) } });
  expect((await deliveries(ch.gate)).total).toBe(total);
  const partner = await gw.partner('POST', `/partner/channels/${ch.id}/deliveries/${delivered.id}/replay`);
  expect(partner.status).toBe(409);

  // A range replay skips what has nowhere to go.
  const range = await ch.gate('POST', '/webhooks/deliveries/replay', { since: 0, until: Date.now() + 60_000 });
  expect(range.status).toBe(200);
  expect(range.body.replayed).toBe(0);
  expect(r.received).toHaveLength(2);
});
