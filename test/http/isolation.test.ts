import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver } from '../support/receiver.js';
import { expectError, raw } from './raw.js';
import { GATE_ROUTES, concrete } from './routes.js';

// One token, one channel (SPEC §4): a channel's token reaches that channel's data and nothing else.

const FAST = { init_ms: 20, launch_ms: 20 };

interface Channel {
  id: string;
  token: string;
  gate: Call;
}

/** The channel's status text, without waking it. */
async function statusText(gate: Call): Promise<string> {
  return (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;
}

/** Waits for the first QR, then scans it as `user`. */
async function pair(ch: Channel, user: { id: string; name: string }): Promise<void> {
  await until(async () => (await statusText(ch.gate)) === 'QR', `${ch.id} to show a QR`);
  const res = await ch.gate('POST', '/sandbox/scan', { user });
  expect(res.status).toBe(200);
  await until(async () => (await statusText(ch.gate)) === 'AUTH', `${ch.id} to reach AUTH`);
}

describe("one channel's token never reaches another channel", () => {
  let gw: TestGateway;
  let a: Channel;
  let b: Channel;

  beforeAll(async () => {
    gw = await startTestGateway();
    a = await gw.createChannel({ name: 'a', sandbox: FAST });
    b = await gw.createChannel({ name: 'b', sandbox: FAST });
    await pair(a, { id: '61371989950', name: 'Alice' });
    await until(async () => (await statusText(b.gate)) === 'QR', 'B to show a QR');
  });

  afterAll(async () => {
    await gw?.close();
  });

  it("answers A's health, history and profile to A's token, B's to B's", async () => {
    const ha = await a.gate('GET', '/health');
    const hb = await b.gate('GET', '/health');
    expect(ha.body.channel_id).toBe(a.id);
    expect(ha.body.user).toEqual({ id: '61371989950', name: 'Alice' });
    expect(hb.body.channel_id).toBe(b.id);
    expect(hb.body).not.toHaveProperty('user');

    const histA = await a.gate<{ history: Array<{ to: string }> }>('GET', '/health/history');
    const histB = await b.gate<{ history: Array<{ to: string }> }>('GET', '/health/history');
    expect(histA.body.history.map((h) => h.to)).toContain('AUTH');
    expect(histB.body.history.map((h) => h.to)).not.toContain('AUTH');

    expect((await a.gate('GET', '/users/profile')).body.name).toBe('Alice');
    expect((await b.gate('GET', '/users/profile')).status).toBe(401);
  });

  it("answers A's pairing state (409, authenticated) to A's token while B is pairing", async () => {
    for (const path of ['/users/login', '/users/login/rowdata', '/users/login/image', '/users/login/61371989952']) {
      expect((await a.gate('GET', path)).status, path).toBe(409);
    }
    expect((await b.gate('GET', '/users/login')).body.status).toBe('OK');
    expect((await b.gate('GET', '/users/login/rowdata')).body.status).toBe('OK');
    expect((await b.gate('GET', '/users/login/image')).status).toBe(200);
    expect((await b.gate('GET', '/users/login/61371989952')).status).toBe(200);
  });

  it("reads and changes A's settings alone", async () => {
    const patched = await a.gate('PATCH', '/settings', { callback_persist: false });
    expect(patched.status).toBe(200);
    expect(patched.body.after_update.callback_persist).toBe(false);
    expect((await a.gate('GET', '/settings')).body.callback_persist).toBe(false);
    expect((await b.gate('GET', '/settings')).body.callback_persist).toBe(true);
    await b.gate('PATCH', '/settings', { send_hold_ms: 500 });
    expect((await a.gate('DELETE', '/settings')).status).toBe(200);
    expect((await a.gate('GET', '/settings')).body.callback_persist).toBe(true);
    expect((await b.gate('GET', '/settings')).body.send_hold_ms).toBe(500);
  });

  it("lists and replays A's webhook deliveries alone", async () => {
    const receiver = await startReceiver();
    try {
      const events = [{ type: 'channel', method: 'post' }];
      expect((await a.gate('PATCH', '/settings', { webhooks: [{ url: `${receiver.url}/a`, events }] })).status).toBe(200);
      expect((await b.gate('PATCH', '/settings', { webhooks: [{ url: `${receiver.url}/b`, events }] })).status).toBe(200);
      // A status change on each channel: a short blip on A, a restart of B.
      expect((await a.gate('POST', '/sandbox/blip', { duration_ms: 50 })).status).toBe(200);
      expect((await gw.partner('POST', `/partner/channels/${b.id}/restart`)).status).toBe(200);
      await until(async () => (await statusText(a.gate)) === 'AUTH' && (await statusText(b.gate)) === 'QR', 'A back at AUTH, B at QR');

      type Listed = { deliveries: Array<{ id: number; channel_id: string; url: string }>; total: number };
      const list = async (ch: Channel): Promise<Listed> => (await ch.gate<Listed>('GET', '/webhooks/deliveries?count=500')).body;
      await until(async () => (await list(a)).total > 0 && (await list(b)).total > 0, 'deliveries on both channels');
      const ofA = await list(a);
      const ofB = await list(b);
      expect(new Set(ofA.deliveries.map((d) => `${d.channel_id} ${d.url}`))).toEqual(new Set([`${a.id} ${receiver.url}/a`]));
      expect(new Set(ofB.deliveries.map((d) => `${d.channel_id} ${d.url}`))).toEqual(new Set([`${b.id} ${receiver.url}/b`]));

      // B's delivery id with A's token: not found, and nothing is sent again.
      const before = (await list(b)).total;
      const foreign = await raw(gw.url, { method: 'POST', path: `/webhooks/deliveries/${ofB.deliveries[0]!.id}/replay`, token: a.token });
      expectError(foreign, 404);
      expect((await list(b)).total).toBe(before);
      const range = await a.gate<{ deliveries: Array<{ channel_id: string }> }>('POST', '/webhooks/deliveries/replay', { since: 0, until: Date.now() + 1000 });
      expect(range.status).toBe(200);
      for (const d of range.body.deliveries) expect(d.channel_id).toBe(a.id);
      expect((await list(b)).total).toBe(before);
    } finally {
      await a.gate('DELETE', '/settings');
      await b.gate('DELETE', '/settings');
      await receiver.close();
    }
  });

  it("applies A's sandbox controls and logout to A alone", async () => {
    // A scan with A's token cannot pair B, whose QR is the only one showing.
    expect((await a.gate('POST', '/sandbox/scan', {})).status).toBe(409);
    expect(await statusText(b.gate)).toBe('QR');

    // A stuck start on A must not hang B; B's next restart still reaches QR.
    expect((await a.gate('POST', '/sandbox/stuck', { phase: 'INIT' })).status).toBe(200);
    expect((await gw.partner('POST', `/partner/channels/${b.id}/restart`)).status).toBe(200);
    await until(async () => (await statusText(b.gate)) === 'QR', 'B back at QR after restart');

    expect((await a.gate('POST', '/sandbox/sync_error')).status).toBe(200);
    await until(async () => (await statusText(a.gate)) === 'SYNC_ERROR', 'A in SYNC_ERROR');
    expect(await statusText(b.gate)).toBe('QR');

    expect((await a.gate('POST', '/users/logout')).status).toBe(200);
    expect((await b.gate('POST', '/users/logout')).status).toBe(409);
    expect((await a.gate('GET', '/health?wakeup=false')).body).not.toHaveProperty('user');

    // A's stuck INIT (armed above) holds A in INIT; B is untouched.
    await until(async () => (await statusText(a.gate)) === 'INIT', 'A stuck in INIT');
    expect((await a.gate('POST', '/sandbox/fail', { reason: 'replaced' })).status).toBe(200);
    await until(async () => (await statusText(a.gate)) === 'ERROR', 'A in ERROR');
    expect(await statusText(b.gate)).toBe('QR');
    const bHistory = await b.gate<{ history: Array<{ to: string }> }>('GET', '/health/history');
    expect(bHistory.body.history.map((h) => h.to)).not.toContain('ERROR');
    expect(bHistory.body.history.map((h) => h.to)).not.toContain('SYNC_ERROR');
  });

  it("stops answering A's old token after rotation, on every gate route", async () => {
    const rotated = await gw.partner<{ id: string; token: string }>('POST', `/partner/channels/${a.id}/token`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(a.id);
    expect(rotated.body.token).not.toBe(a.token);

    for (const route of GATE_ROUTES) {
      const res = await raw(gw.url, { method: route.method, path: concrete(route.path), token: a.token });
      expectError(res, 401);
    }
    const fresh = await raw(gw.url, { method: 'GET', path: '/health?wakeup=false', token: rotated.body.token });
    expect((fresh.json as { channel_id: string }).channel_id).toBe(a.id);
    expect((await b.gate('GET', '/health?wakeup=false')).body.channel_id).toBe(b.id);
  });
});
