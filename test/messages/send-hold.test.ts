import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import type { Answer, Call } from '../support/http.js';
import { FAST, QUIET, RECIPIENT, pairedChannel, reach, sendText, sentLog, statusOf } from './channel.js';

// The send hold (SPEC §6): sends made during a brief reconnect wait for AUTH and go out once;
// past send_hold_ms, and in statuses that are not a reconnect, they answer 401 at once.

/** Well under the default send_hold_ms (10000): an answer this fast did not wait the hold. */
const AT_ONCE_MS = 1_000;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
});

afterAll(async () => {
  await gw?.close();
});

async function timedSend(gate: Call, body: string): Promise<{ res: Answer; ms: number }> {
  const started = performance.now();
  const res = await sendText(gate, { to: RECIPIENT, body });
  return { res, ms: performance.now() - started };
}

function expectNeedAuthorization(res: Answer, status: string): void {
  expect(res.status).toBe(401);
  expect(res.body).toMatchObject({ error: { code: 401, message: 'need channel authorization' } });
  expect((res.body as { error: { details: string } }).error.details).toContain(status);
}

describe('send hold across a reconnect', () => {
  it('delivers all 100 sends made during a 2 s blip, each exactly once, with no 401', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const blipAt = Date.now();
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 2000 })).status).toBe(200);
    const bodies = Array.from({ length: 100 }, (_, i) => `held message ${i}`);
    const answers = await Promise.all(bodies.map((body) => sendText(ch.gate, { to: RECIPIENT, body })));

    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.body.message.id)).size).toBe(100);
    expect(await statusOf(ch.gate)).toBe('AUTH');
    const sent = await sentLog(ch.gate);
    expect(sent).toHaveLength(100);
    expect(new Set(sent.map((m) => m.body))).toEqual(new Set(bodies));
    // The sends really waited: the network carried none of them while it was down.
    expect(Math.min(...sent.map((m) => m.at)) - blipAt).toBeGreaterThanOrEqual(1900);
  }, 30_000);

  it('answers 401 need channel authorization when the reconnect outlasts send_hold_ms', async () => {
    const ch = await pairedChannel(gw.createChannel);
    const patched = await ch.gate('PATCH', '/settings', { send_hold_ms: 1000 });
    expect(patched.status).toBe(200);
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 4000 })).status).toBe(200);
    const { res, ms } = await timedSend(ch.gate, 'outlasted');

    expectNeedAuthorization(res, 'send_hold_ms');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3500);
    await reach(ch.gate, 'AUTH');
    expect(await sentLog(ch.gate)).toEqual([]);
  }, 20_000);
});

describe('a held send whose reconnect goes wrong', () => {
  it('answers 401 at once during a blip when send_hold_ms is 0', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await ch.gate('PATCH', '/settings', { send_hold_ms: 0 })).status).toBe(200);
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 3000 })).status).toBe(200);
    const { res, ms } = await timedSend(ch.gate, 'no hold wanted');
    expect(res.status).toBe(401);
    expect(ms).toBeLessThan(AT_ONCE_MS);
    await reach(ch.gate, 'AUTH');
    expect(await sentLog(ch.gate)).toEqual([]);
  }, 20_000);

  it('answers 401 as soon as the reconnect ends in ERROR, without waiting out the hold', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 5000 })).status).toBe(200);
    const held = timedSend(ch.gate, 'held into an error');
    await reach(ch.gate, 'LAUNCH');
    const failedAt = performance.now();
    expect((await ch.gate('POST', '/sandbox/fail', { reason: 'replaced' })).status).toBe(200);
    const { res } = await held;
    expectNeedAuthorization(res, 'ERROR');
    expect(performance.now() - failedAt).toBeLessThan(AT_ONCE_MS);
    expect(await sentLog(ch.gate)).toEqual([]);
  }, 20_000);

  it('answers 401 as soon as the operator stops a reconnecting channel', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 5000 })).status).toBe(200);
    const held = timedSend(ch.gate, 'held into a stop');
    const stoppedAt = performance.now();
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    const { res } = await held;
    expectNeedAuthorization(res, 'STOP');
    expect(performance.now() - stoppedAt).toBeLessThan(AT_ONCE_MS);
    expect(await sentLog(ch.gate)).toEqual([]);
  }, 20_000);
});

describe('statuses that are not a reconnect answer 401 at once', () => {
  it('answers 401 at once in QR', async () => {
    const ch = await gw.createChannel({ sandbox: QUIET });
    await reach(ch.gate, 'QR');
    const { res, ms } = await timedSend(ch.gate, 'to a QR channel');
    expectNeedAuthorization(res, 'QR');
    expect(ms).toBeLessThan(AT_ONCE_MS);
  });

  it('answers 401 at once in STOP', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    await reach(ch.gate, 'STOP');
    const { res, ms } = await timedSend(ch.gate, 'to a stopped channel');
    expectNeedAuthorization(res, 'STOP');
    expect(ms).toBeLessThan(AT_ONCE_MS);
  });

  it('answers 401 at once in ERROR', async () => {
    const ch = await pairedChannel(gw.createChannel);
    expect((await ch.gate('POST', '/sandbox/fail', { reason: 'replaced' })).status).toBe(200);
    await reach(ch.gate, 'ERROR');
    const { res, ms } = await timedSend(ch.gate, 'to a failed channel');
    expectNeedAuthorization(res, 'ERROR');
    expect(ms).toBeLessThan(AT_ONCE_MS);
  });

  it('answers 401 at once right after the phone logged the channel out, while it is still in INIT or LAUNCH', async () => {
    // A long LAUNCH keeps the logged-out channel in INIT/LAUNCH for ~2 s: a wrongly applied hold would wait it out.
    const ch = await pairedChannel(gw.createChannel, { sandbox: { ...QUIET, launch_ms: 2000 } });
    expect((await ch.gate('POST', '/sandbox/unlink')).status).toBe(200);
    const { res, ms } = await timedSend(ch.gate, 'to a logged-out channel');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 401, message: 'need channel authorization' } });
    expect(ms).toBeLessThan(AT_ONCE_MS);
    expect(['INIT', 'LAUNCH']).toContain(await statusOf(ch.gate));
    expect(await sentLog(ch.gate)).toEqual([]);
  }, 20_000);

  it('sends at once, without a hold, on an AUTH channel', async () => {
    const ch = await pairedChannel(gw.createChannel, { sandbox: FAST });
    const { res, ms } = await timedSend(ch.gate, 'plain');
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(AT_ONCE_MS);
  });
});
