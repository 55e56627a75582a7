import { describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import {
  advance,
  afterAttempts,
  closeAfterEach,
  deliveries,
  deliveryWhere,
  eventOf,
  events,
  FAST,
  gateway,
  hook,
  oneEventChannel,
  reach,
  receiver,
  statusOf,
  timestamps,
  virtualClock,
} from './harness.js';

// SPEC §5: `410 Gone` disables the webhook (alert); past webhook_max_age_seconds a delivery is
// kept as failed, listed, and can be replayed.

closeAfterEach();

interface Webhook {
  url: string;
  disabled?: boolean;
}

describe('410 Gone', () => {
  it('disables the webhook, stops sending to it, and alerts another webhook', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const gone = await receiver();
    const other = await receiver();
    gone.respond({ status: 410 });
    const goneUrl = `${gone.url}/hook`;
    const webhooks = [hook(gone), { url: `${other.url}/other`, events: events('channel.post', 'alerts.post') }];
    const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks } });

    // The first event (INIT) meets the 410.
    await until(() => other.received.some((x) => eventOf(x) === 'alerts.post'), 'the webhook_disabled alert');
    const alert = other.received.find((x) => eventOf(x) === 'alerts.post')!;
    expect(alert.json.channel_id).toBe(ch.id);
    expect(alert.json.alert).toMatchObject({ kind: 'webhook_disabled', webhook: goneUrl });
    expect(String((alert.json.alert as { detail: string }).detail)).toContain('410');

    const settings = await ch.gate<{ webhooks: Webhook[] }>('GET', '/settings');
    expect(settings.body.webhooks.map((w) => [w.url, w.disabled === true])).toEqual([
      [goneUrl, true],
      [`${other.url}/other`, false],
    ]);
    const failed = await deliveryWhere(ch.gate, (d) => d.url === goneUrl, 'the delivery to the gone webhook');
    expect(failed).toMatchObject({ status: 'failed', last_status: 410, attempts: 1 });

    // Later events reach the other webhook only.
    await reach(ch.gate, 'QR', clock);
    await until(() => other.received.some((x) => statusOf(x) === 'QR'), 'QR at the other webhook');
    expect(gone.received).toHaveLength(1);
    expect(statusOf(gone.received[0]!)).toBe('INIT');
    const log = await deliveries(ch.gate);
    expect(log.deliveries.filter((d) => d.url === goneUrl)).toHaveLength(1);
    // Nothing is left to retry to the gone webhook, however long one waits.
    await advance(gw, clock, 3_600_000);
    expect(gone.received).toHaveLength(1);
  });

  it('sends again once the webhook is enabled with disabled:false', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    r.respond({ status: 410 });
    const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [hook(r)] } });
    await deliveryWhere(ch.gate, (d) => d.status === 'failed', 'the 410');
    await until(async () => (await ch.gate<{ webhooks: Webhook[] }>('GET', '/settings')).body.webhooks[0]?.disabled === true, 'disabled');

    r.respond({ status: 200 });
    const patch = await ch.gate('PATCH', '/settings', { webhooks: [hook(r, { disabled: false })] });
    expect(patch.status).toBe(200);
    expect(patch.body.after_update.webhooks[0].disabled).toBeUndefined();
    await reach(ch.gate, 'QR', clock);
    await until(() => r.received.some((x) => statusOf(x) === 'QR'), 'QR after enabling');
  });
  it('fails the deliveries already queued behind the one that met the 410, without sending them', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    r.respond({ status: 500 });
    const ch = await gw.createChannel({ sandbox: FAST, settings: { callback_backoff_delay_ms: 3000, webhooks: [hook(r)] } });
    await afterAttempts(ch.gate, 1);
    await reach(ch.gate, 'QR', clock); // LAUNCH and QR queue behind the failing INIT
    expect((await deliveries(ch.gate, 'status=pending')).total).toBe(3);

    r.respond({ status: 410 });
    await advance(gw, clock, 3000);
    await until(async () => (await deliveries(ch.gate, 'status=failed')).total === 3, 'the whole queue failed');
    expect(r.received.map(statusOf)).toEqual(['INIT', 'INIT']);
    const log = await deliveries(ch.gate);
    expect(log.deliveries.filter((d) => d.attempts === 0).every((d) => /410/.test(d.last_error ?? ''))).toBe(true);
  });
});

describe('webhook_max_age_seconds', () => {
  it('gives up, keeps the delivery as failed, and delivers it on replay', async () => {
    const clock = virtualClock();
    const gw = await gateway({ clock });
    const r = await receiver();
    r.respond({ status: 500 });
    const ch = await oneEventChannel(gw, { callback_backoff_delay_ms: 3000, webhooks: [hook(r, { webhook_max_age_seconds: 15 })] });
    const t0 = clock.now();

    // Attempts at 0, 3 and 9 s; the next (18 s) would be past the 15 s age.
    for (let n = 1; n <= 5; n++) {
      const d = await afterAttempts(ch.gate, n);
      if (d.status === 'failed') break;
      await advance(gw, clock, d.next_attempt_at - clock.now());
    }
    await advance(gw, clock, 60_000);
    const failed = (await deliveries(ch.gate, 'status=failed')).deliveries;
    expect(failed).toHaveLength(1);
    const [gaveUp] = failed;
    expect(gaveUp!.last_error).toMatch(/max.age|webhook_max_age_seconds/i);
    // No attempt was made at or past the age limit.
    expect(timestamps(r.received).every((s) => s * 1000 < t0 + 15_000)).toBe(true);
    expect(r.received.length).toBe(gaveUp!.attempts);
    expect((await deliveries(ch.gate, 'status=pending')).total).toBe(0);

    r.respond({ status: 200 });
    const replay = await ch.gate('POST', `/webhooks/deliveries/${gaveUp!.id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ replay_of: gaveUp!.id, webhook_id: gaveUp!.webhook_id, status: 'pending' });
    const copy = await deliveryWhere(ch.gate, (d) => d.id === replay.body.id && d.status === 'delivered', 'the replay delivered');
    expect(copy.attempts).toBe(1);
    const last = r.received.at(-1)!;
    expect(last.headers['webhook-id']).toBe(gaveUp!.webhook_id);
    expect(last.body).toBe(r.received[0]!.body);
    // The original stays failed: the log keeps what happened.
    expect((await deliveries(ch.gate, 'status=failed')).deliveries.map((d) => d.id)).toEqual([gaveUp!.id]);
  });
});
