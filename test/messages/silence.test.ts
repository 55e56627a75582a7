import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/channel/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Answer, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { QUIET, RECIPIENT, sendText, sentLog, statusOf } from './channel.js';

// A silent network (the sandbox's `silence`: nothing carried, nothing closed), in virtual time:
// a send without an ack makes the engine probe after the 3 s ack window, the unanswered probe
// declares the connection lost 3 s later, and the send hold re-sends the message once under the
// same id. At rest, the silence is noticed one keep-alive interval plus the ack window and the
// probe timeout after the last answer.

let gw: TestGateway | null = null;
let receiver: Receiver | null = null;
afterEach(async () => {
  await gw?.close();
  await receiver?.close();
  gw = null;
  receiver = null;
});

/** A paired sandbox channel on a gateway in virtual time. */
async function virtualChannel(body: Record<string, unknown> = {}): Promise<{ clock: VirtualClock; gate: Call }> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  gw = await startTestGateway({ clock, random: () => 0.5, env: { WAGATE_LOG_LEVEL: 'silent' } });
  const ch = await gw.createChannel({ sandbox: QUIET, ...body });
  await clock.advance(100);
  await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR');
  expect((await ch.gate('POST', '/sandbox/scan', {})).status).toBe(200);
  await until(async () => (await statusOf(ch.gate)) === 'AUTH', 'AUTH');
  return { clock, gate: ch.gate };
}

/** Moves virtual time in steps, letting the gateway's real I/O run between them, until `done`. */
async function advanceUntil(clock: VirtualClock, done: () => Promise<boolean> | boolean, limitMs: number, stepMs = 100): Promise<number> {
  const from = clock.now();
  while (!(await done())) {
    if (clock.now() - from > limitMs) throw new Error(`not done within ${limitMs} ms of virtual time`);
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 2));
  }
  return clock.now() - from;
}

/** The newest history entry that left AUTH. */
async function lastDrop(gate: Call): Promise<{ at: number; reason: string; detail: string }> {
  const { body } = await gate<{ history: Array<{ at: number; from: string; reason: string; detail: string }> }>('GET', '/health/history?count=20');
  const drop = body.history.find((h) => h.from === 'AUTH');
  if (!drop) throw new Error('no drop out of AUTH in the history');
  return drop;
}

/** Starts a send and records its answer when it comes. */
function inFlight(gate: Call, body: string): { answer: Answer<any> | null } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const box: { answer: Answer<any> | null } = { answer: null }; // eslint-disable-line @typescript-eslint/no-explicit-any
  void sendText(gate, { to: RECIPIENT, body }).then((a) => (box.answer = a));
  return box;
}

describe('a silent network while a message is being sent', () => {
  it('leaves AUTH 6 s after the send (ack window, then probe), reconnects, and sends the message once', async () => {
    const { clock, gate } = await virtualChannel();
    expect((await gate('POST', '/sandbox/silence')).status).toBe(200);
    const sentAt = clock.now();
    const send = inFlight(gate, 'are you there?');
    const leftAfter = await advanceUntil(clock, async () => (await statusOf(gate)) !== 'AUTH', 10_000);
    expect(leftAfter).toBeGreaterThanOrEqual(6_000);
    expect(leftAfter).toBeLessThanOrEqual(6_100);
    const drop = await lastDrop(gate);
    expect(drop.reason).toBe('connection_lost');
    expect(drop.detail).toMatch(/^no answer from WhatsApp for 6 s; attempt 1 in \d+ ms$/);
    expect(drop.at - sentAt).toBeLessThanOrEqual(6_100);
    expect(send.answer).toBeNull();

    await advanceUntil(clock, () => send.answer !== null, 10_000);
    expect(await statusOf(gate)).toBe('AUTH');
    expect(send.answer!.status).toBe(200);
    expect(send.answer!.body).toMatchObject({ sent: true, message: { status: 'sent', text: { body: 'are you there?' } } });
    const carried = await sentLog(gate);
    expect(carried.map((m) => [m.id, m.body])).toStrictEqual([[send.answer!.body.message.id, 'are you there?']]);
  });

  it('re-sends every send caught by the silence once, each under its own id', async () => {
    const { clock, gate } = await virtualChannel();
    expect((await gate('POST', '/sandbox/silence')).status).toBe(200);
    const sends = Array.from({ length: 5 }, (_, i) => inFlight(gate, `caught ${i}`));
    await advanceUntil(clock, () => sends.every((s) => s.answer !== null), 20_000);
    expect(sends.map((s) => [s.answer!.status, s.answer!.body.message.status])).toStrictEqual(Array(5).fill([200, 'sent']));
    const carried = await sentLog(gate);
    expect(carried.map((m) => m.body).sort()).toStrictEqual(['caught 0', 'caught 1', 'caught 2', 'caught 3', 'caught 4']);
    expect(new Set(carried.map((m) => m.id))).toStrictEqual(new Set(sends.map((s) => s.answer!.body.message.id)));
  });

  it('answers 401 naming the unacknowledged message when the channel does not come back within the send hold', async () => {
    const { clock, gate } = await virtualChannel();
    expect((await gate('PATCH', '/settings', { send_hold_ms: 9_000 })).status).toBe(200);
    expect((await gate('POST', '/sandbox/stuck', { phase: 'LAUNCH' })).status).toBe(200);
    expect((await gate('POST', '/sandbox/silence')).status).toBe(200);
    const send = inFlight(gate, 'lost in the void');
    await advanceUntil(clock, () => send.answer !== null, 20_000);
    expect(send.answer!.status).toBe(401);
    expect(send.answer!.body.error.details).toMatch(/send_hold_ms \(9000 ms\); message \S+ was handed to a connection that was lost before WhatsApp acknowledged it, and was not sent again$/);
    expect(await sentLog(gate)).toStrictEqual([]);
  });
});

describe('a silent network at rest', () => {
  it('is declared lost 36 s after the last answer from the network, within 45 s of the silence', async () => {
    const { clock, gate } = await virtualChannel();
    await clock.advance(10_000);
    expect((await gate('POST', '/sandbox/silence')).status).toBe(200);
    const leftAfter = await advanceUntil(clock, async () => (await statusOf(gate)) !== 'AUTH', 45_000, 500);
    // The last answer came when the channel opened, 10 s before the silence; the ping at 30 s went unanswered.
    expect(leftAfter).toBeGreaterThanOrEqual(25_500);
    expect(leftAfter).toBeLessThanOrEqual(26_500);
    expect((await lastDrop(gate)).detail).toMatch(/^no answer from WhatsApp for 36 s; /);
  });

  it('follows the channel\'s keep-alive interval', async () => {
    const { clock, gate } = await virtualChannel({ sandbox: { ...QUIET, keep_alive_ms: 5_000, ack_window_ms: 1_000, probe_timeout_ms: 1_000 } });
    expect((await gate('POST', '/sandbox/silence')).status).toBe(200);
    const leftAfter = await advanceUntil(clock, async () => (await statusOf(gate)) !== 'AUTH', 10_000);
    expect(leftAfter).toBeLessThanOrEqual(7_100);
    expect((await lastDrop(gate)).detail).toMatch(/^no answer from WhatsApp for 7 s; /);
  });
});

describe('message status honesty', () => {
  it('answers sent:true with status pending while the ack is late, and reports sent only when it comes', async () => {
    receiver = await startReceiver();
    const { clock, gate } = await virtualChannel({
      settings: { webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'statuses', method: 'post' }], mode: 'body' }] },
    });
    expect((await gate('POST', '/sandbox/ack_delay', { delay_ms: 5_000 })).status).toBe(200);
    const send = inFlight(gate, 'slow tick');
    await advanceUntil(clock, () => send.answer !== null, 4_000);
    expect(send.answer!.status).toBe(200);
    expect(send.answer!.body).toMatchObject({ sent: true, message: { status: 'pending' } });
    const id = send.answer!.body.message.id as string;
    expect((await gate('GET', `/messages/${id}`)).body.status).toBe('pending');
    expect(await statusOf(gate)).toBe('AUTH');
    expect(receiver.received).toStrictEqual([]);

    await advanceUntil(clock, async () => (await gate('GET', `/messages/${id}`)).body.status === 'sent', 5_000);
    await until(() => receiver!.received.length > 0, 'statuses.post');
    expect(receiver.received.map((r) => r.json.statuses)).toStrictEqual([[expect.objectContaining({ id, status: 'sent' })]]);
  });
});
