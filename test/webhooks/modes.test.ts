import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { VirtualClock } from '../../src/channel/clock.js';
import type { TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import type { Receiver, Received } from '../support/receiver.js';
import {
  advance,
  afterAttempts,
  closeAfterEach,
  eventOf,
  events,
  FAST,
  gateway,
  hook,
  LIFECYCLE_EVENTS,
  oneEventChannel,
  reach,
  receiver,
  timestamps,
  virtualClock,
} from './harness.js';

// SPEC §5: delivery modes, the webhook's own headers, and the Standard Webhooks headers.

closeAfterEach();

const USER = { id: '61371989950', name: 'Jonathan' };
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Where and how SPEC §5 says an event is sent in each mode. */
function expectedRequest(mode: string, event: string): { method: string; path: string } {
  const [type, method] = event.split('.') as [string, string];
  if (mode === 'path') return { method: 'POST', path: `/hook/${type}/${method}` };
  if (mode === 'method') return { method: method.toUpperCase(), path: `/hook/${type}` };
  return { method: 'POST', path: '/hook' };
}

/** Takes a channel through QR, a scan and an unlink: every lifecycle event at least once. */
async function driveLifecycle(gw: TestGateway, clock: VirtualClock, r: Receiver, webhook: Record<string, unknown>) {
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [webhook] } });
  await reach(ch.gate, 'QR', clock);
  expect((await ch.gate('POST', '/sandbox/scan', { user: USER })).status).toBe(200);
  expect((await ch.gate('POST', '/sandbox/unlink')).status).toBe(200);
  await reach(ch.gate, 'QR', clock);
  await until(() => LIFECYCLE_EVENTS.every((e) => r.received.filter((x) => eventOf(x) === e).length >= (e.startsWith('channel') ? 2 : 1)), 'every lifecycle event');
  return ch;
}

describe.each(['body', 'path', 'method'])('mode %s', (mode) => {
  it('sends channel.post, channel.patch, users.post and users.delete where the mode says, with the webhook headers', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    const headers = { 'X-Api-Key': 'key-123', Authorization: 'Bearer customer-token' };
    const t0 = clock.now();
    const ch = await driveLifecycle(gw, clock, r, { url: `${r.url}/hook`, mode, headers, events: events(...LIFECYCLE_EVENTS) });

    for (const req of r.received) {
      const event = eventOf(req);
      expect(LIFECYCLE_EVENTS).toContain(event);
      expect({ event, method: req.method, path: req.path }).toEqual({ event, ...expectedRequest(mode, event) });
      expect(req.json.channel_id).toBe(ch.id);
      expect(req.headers['x-api-key']).toBe('key-123');
      expect(req.headers.authorization).toBe('Bearer customer-token');
      expect(req.headers['content-type']).toMatch(/^application\/json/);
      expect(req.headers['webhook-id']).toMatch(/^msg_\d+$/);
      expect(Number(req.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Math.floor(t0 / 1000));
      expect(Number(req.headers['webhook-timestamp'])).toBeLessThanOrEqual(Math.floor(clock.now() / 1000));
      expect(req.headers['webhook-signature']).toBeUndefined();
    }
    const users = r.received.filter((x) => eventOf(x).startsWith('users.'));
    expect(users.map((x) => [eventOf(x), x.json.user])).toEqual([
      ['users.post', USER],
      ['users.delete', USER],
    ]);
    // Every request carries a distinct event: no retries happened, so no webhook-id repeats.
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(r.received.length);
  });
});

describe('Standard Webhooks headers', () => {
  const verifier = new Webhook(SECRET);
  const asHeaders = (x: Received): Record<string, string> => Object.fromEntries(Object.entries(x.headers).map(([k, v]) => [k, String(v)]));

  it('keeps webhook-id across retries, stamps every attempt with its own webhook-timestamp and signs each', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    let calls = 0;
    r.respond(() => (++calls <= 2 ? 500 : 200));
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r, { secret: SECRET })] });
    const t0 = Math.floor(clock.now() / 1000);

    await afterAttempts(ch.gate, 1);
    await advance(gw, clock, 3000);
    await afterAttempts(ch.gate, 2);
    await advance(gw, clock, 6000);
    const done = await afterAttempts(ch.gate, 3);

    expect(done.status).toBe('delivered');
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['webhook-id']))).toEqual(new Set([done.webhook_id]));
    expect(timestamps(r.received)).toEqual([t0, t0 + 3, t0 + 9]);
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    // A new timestamp means a new signature, and each one verifies.
    expect(new Set(r.received.map((x) => x.headers['webhook-signature'])).size).toBe(3);
    for (const req of r.received) expect(verifier.verify(req.body, asHeaders(req))).toEqual(req.json);
  });

  it('signs every lifecycle event so that the standardwebhooks package verifies it', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    await driveLifecycle(gw, clock, r, { url: `${r.url}/hook`, secret: SECRET, events: events(...LIFECYCLE_EVENTS) });

    for (const req of r.received) {
      expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verifier.verify(req.body, asHeaders(req))).toEqual(req.json);
    }
    // A tampered body or a wrong key does not verify.
    const sample = r.received[0]!;
    expect(() => verifier.verify(sample.body.replace('"channel_id":"', '"channel_id":"X'), asHeaders(sample))).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(sample.body, asHeaders(sample))).toThrow();
  });
});
