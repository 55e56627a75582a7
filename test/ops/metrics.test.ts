import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

let gw: TestGateway;
let receiver: Receiver;

/** Scrapes /metrics and answers one sample's value (0 when absent). */
async function sample(name: string, labels: Record<string, string> = {}, token = ADMIN_TOKEN): Promise<number> {
  const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => {
    if (!l.startsWith(`${name}{`) && !l.startsWith(`${name} `)) return false;
    return want.every((w) => l.includes(w));
  });
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_METRICS_TOKEN: 'scraper-token' } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

describe('/metrics', () => {
  it('refuses a scrape without the admin or metrics token, and admits the metrics token', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer scraper-token' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
  });

  it('names every metric once: wagate_ then the name, never a doubled prefix', async () => {
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const names = [...new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2] as string))];
    expect(names).toContain('wagate_process_cpu_seconds_total');
    expect(names).toContain('wagate_nodejs_eventloop_lag_seconds');
    expect(names.filter((n) => !n.startsWith('wagate_'))).toEqual([]);
    expect(names.filter((n) => /wagate_(\w+_)?process_process|wagate_wagate|nodejs_nodejs/.test(n))).toEqual([]);
  });

  it('moves with a scripted sequence: pairing, a blip, webhook deliveries, a held send, requests', async () => {
    const before = {
      paired: await sample('wagate_status_transitions_total', { from: 'QR', to: 'AUTH' }),
      toAuth: await sample('wagate_status_transitions_total', { from: 'LAUNCH', to: 'AUTH' }),
      drops: await sample('wagate_status_transitions_total', { from: 'AUTH', to: 'INIT' }),
      backoff: await sample('wagate_reconnect_attempts_total', { kind: 'backoff' }),
      delivered: await sample('wagate_webhook_deliveries_total', { result: 'delivered' }),
      holds: await sample('wagate_send_hold_waits_total', { outcome: 'sent' }),
      health: await sample('wagate_http_requests_total', { method: 'GET', route: '/health', code: '200' }),
    };
    const ch = await gw.createChannel({
      sandbox: { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null },
      settings: { webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'channel', method: 'post' }] }] },
    });
    await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health')).body.status.text === 'QR', 'QR');
    expect(await sample('wagate_channels', { status: 'QR' })).toBe(1);
    await ch.gate('POST', '/sandbox/scan', {});
    await until(async () => (await sample('wagate_channels', { status: 'AUTH' })) === 1, 'AUTH in the channels gauge');
    expect(await sample('wagate_channels', { status: 'QR' })).toBe(0);

    await ch.gate('POST', '/sandbox/blip', { duration_ms: 1500 });
    await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text !== 'AUTH', 'the drop');
    const held = await ch.gate('POST', '/messages/text', { to: '61371989950', body: 'held through the blip' });
    expect(held.status).toBe(200);

    await until(async () => (await sample('wagate_outbox_pending')) === 0, 'an empty outbox');
    expect(await sample('wagate_status_transitions_total', { from: 'QR', to: 'AUTH' })).toBe(before.paired + 1);
    expect(await sample('wagate_status_transitions_total', { from: 'LAUNCH', to: 'AUTH' })).toBe(before.toAuth + 1);
    expect(await sample('wagate_status_transitions_total', { from: 'AUTH', to: 'INIT' })).toBe(before.drops + 1);
    expect(await sample('wagate_reconnect_attempts_total', { kind: 'backoff' })).toBe(before.backoff + 1);
    expect(await sample('wagate_send_hold_waits_total', { outcome: 'sent' })).toBe(before.holds + 1);
    expect(await sample('wagate_send_hold_wait_seconds_count', { outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    // INIT, LAUNCH, QR, AUTH, then the blip's INIT, LAUNCH, AUTH: seven channel.post deliveries.
    expect(await sample('wagate_webhook_deliveries_total', { result: 'delivered' })).toBe(before.delivered + 7);
    expect(await sample('wagate_webhook_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(7);
    expect(await sample('wagate_outbox_oldest_pending_age_seconds')).toBe(0);

    // Requests by route and code: three more GET /health, counted once each response has gone.
    const health = await sample('wagate_http_requests_total', { method: 'GET', route: '/health', code: '200' });
    expect(health).toBeGreaterThanOrEqual(before.health + 2);
    for (let i = 0; i < 3; i++) expect((await ch.gate('GET', '/health?wakeup=false')).status).toBe(200);
    await until(async () => (await sample('wagate_http_requests_total', { method: 'GET', route: '/health', code: '200' })) === health + 3, 'three more /health requests counted');
  });

  it('counts failed deliveries and the outbox backlog while a receiver fails', async () => {
    receiver.respond({ status: 500 });
    const ch = await gw.createChannel({ sandbox: { init_ms: 20, launch_ms: 20 }, settings: { webhooks: [{ url: `${receiver.url}/down`, events: [{ type: 'channel', method: 'post' }] }] } });
    await until(async () => (await sample('wagate_webhook_deliveries_total', { result: 'retry' })) >= 1, 'a retried delivery');
    expect(await sample('wagate_outbox_pending')).toBeGreaterThanOrEqual(1);
    await ch.gate('GET', '/health');
    receiver.respond({ status: 200 });
  });
});
