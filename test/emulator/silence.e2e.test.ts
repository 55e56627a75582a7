import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import type { Received } from '../support/receiver.js';
import { eventOf, label, muteLibsignal, pair, startEmulatedGateway, type EmulatedSetup } from './harness.js';

// The emulator's silence: the network of the logged-in connection carries nothing either way,
// and nothing closes. The real Baileys client and wagate's liveness watch must notice it.

const RECIPIENT = '61400111222';

let setup: EmulatedSetup | null = null;
muteLibsignal();
afterEach(async () => {
  await setup?.close();
  setup = null;
});

/** Channel statuses the receiver saw from `mark` on. */
function statusPosts(s: EmulatedSetup, mark: number): Received[] {
  return s.receiver.received.slice(mark).filter((r) => eventOf(r) === 'channel.post');
}

/** The detail of the newest history entry that left AUTH. */
async function dropDetail(s: EmulatedSetup): Promise<string> {
  const { body } = await s.gate<{ history: Array<{ from: string; detail?: string }> }>('GET', '/health/history?count=20');
  return body.history.find((h) => h.from === 'AUTH')?.detail ?? '';
}

describe('a silent connection to the WhatsApp Web emulator', () => {
  it('during a send: leaves AUTH within 6 s of the send, reconnects, and the recipient\'s emulated phone decrypts the message once', { timeout: 40_000 }, async () => {
    setup = await startEmulatedGateway();
    const s = setup;
    await pair(s);
    // A message on the healthy connection first: the server acks it at once and it is `sent`.
    const first = await s.gate<{ sent: boolean; message: { id: string; status: string } }>('POST', '/messages/text', { to: RECIPIENT, body: 'before' });
    expect(first.status).toBe(200);
    expect(first.body.message.status).toBe('sent');
    // Baileys fetched the recipient's device list and key bundle from the emulator and encrypted for it.
    expect(s.emulator.messages[0]?.devices).toContainEqual({ jid: `${RECIPIENT}@s.whatsapp.net`, type: 'pkmsg' });

    const mark = s.receiver.received.length;
    const before = s.emulator.connections.length;
    s.emulator.silence();
    const sentAt = Date.now();
    const answer = s.gate<{ sent: boolean; message: { id: string; status: string } }>('POST', '/messages/text', { to: RECIPIENT, body: 'into the silence' });
    await until(() => statusPosts(s, mark).some((r) => label(r) !== 'AUTH'), 'leaving AUTH', 10_000);
    const left = statusPosts(s, mark).find((r) => label(r) !== 'AUTH')!;
    // The 3 s ack window, then the 3 s probe timeout; then the status change is committed and its
    // webhook delivered (tens of ms; more on a loaded machine, hence the margin).
    expect(left.at - sentAt).toBeGreaterThanOrEqual(6_000);
    expect(left.at - sentAt).toBeLessThan(6_000 + 1_000);
    expect(await dropDetail(s)).toMatch(/^no answer from WhatsApp for 6 s; attempt 1 in \d+ ms$/);

    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sent: true, message: { status: 'sent' } });
    expect(statusPosts(s, mark).map(label)).toStrictEqual(['INIT', 'LAUNCH', 'AUTH']);
    const carried = s.emulator.messages.filter((m) => m.id === res.body.message.id);
    expect(carried).toHaveLength(1);
    expect(carried[0]).toMatchObject({ to: `${RECIPIENT}@s.whatsapp.net`, connection: before });
    expect(carried[0]!.devices.map((d) => d.jid)).toContain(`${RECIPIENT}@s.whatsapp.net`);
    // The recipient's emulated phone decrypted both messages, each once.
    await until(() => s.emulator.messages.every((m) => m.body !== undefined), 'the recipient decrypted its messages', 5_000);
    expect(s.emulator.messages.map((m) => m.body)).toStrictEqual(['before', 'into the silence']);
    expect(s.emulator.messages.map((m) => m.id)).toStrictEqual([first.body.message.id, res.body.message.id]);
    expect(s.emulator.errors).toStrictEqual([]);
  });

  it('at rest: leaves AUTH within one keep-alive interval, the ack window and the probe timeout of the last answer', { timeout: 40_000 }, async () => {
    // A 3 s keep-alive (allowed only off WhatsApp's own endpoint) keeps this short; the 30 s figure is in bench:status-truth.
    setup = await startEmulatedGateway({ keep_alive_ms: 3_000, ack_window_ms: 1_500, probe_timeout_ms: 1_500 });
    const s = setup;
    await pair(s);
    const mark = s.receiver.received.length;
    const before = s.emulator.connections.length;
    const silentAt = s.emulator.silence();
    await until(() => statusPosts(s, mark).some((r) => label(r) !== 'AUTH'), 'leaving AUTH', 45_000, 100);
    const left = statusPosts(s, mark).find((r) => label(r) !== 'AUTH')!;
    // Within keep-alive + ack window + probe timeout (6 s) of the last answer, which came before the silence.
    expect(left.at - silentAt).toBeLessThan(6_000 + 1_000);
    expect(await dropDetail(s)).toMatch(/^no answer from WhatsApp for \d s; /);
    await until(() => statusPosts(s, mark).some((r) => label(r) === 'AUTH'), 'AUTH again', 15_000);
    expect(s.emulator.connections.length).toBe(before + 1);
  });
});
