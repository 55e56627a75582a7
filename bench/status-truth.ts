/**
 * `npm run bench:status-truth`: status truth, measured. Real Baileys clients in an
 * in-process gateway are paired with the WhatsApp Web emulator, which then drops connections:
 * - a clean close (428), DROPS times: from the close to the `channel.post` leaving AUTH at a
 *   loopback receiver, and to the `channel.post` back in AUTH (which includes the lifecycle's
 *   first reconnect backoff, about 0.5-1 s);
 * - a silent drop with a send in flight, SILENT_DROPS times: the network stops carrying anything
 *   and a message is sent at once; from the send to leaving AUTH, and whether the message reached
 *   the emulated WhatsApp exactly once and the recipient's emulated phone decrypted it;
 * - a silent drop at rest, on SILENT_DROPS channels at once with the default 30 s keep-alive, each
 *   silenced at a random moment of its keep-alive cycle: from the silence to leaving AUTH.
 * Prints JSON.
 */
import { until } from '../test/support/http.js';
import type { Received } from '../test/support/receiver.js';
import { createEmulatedChannel, eventOf, label, pair, reach, scanQr, startEmulatedGateway, type EmulatedSetup } from '../test/emulator/harness.js';
import { percentile } from './stats.js';

// libsignal (under Baileys and the emulated phone) logs every session it opens with console.info: keep stdout for the JSON.
console.info = () => undefined;

const DROPS = Number(process.env.BENCH_DROPS ?? 50);
const SILENT_DROPS = Number(process.env.BENCH_SILENT_DROPS ?? 20);
const RECIPIENT = '61400111222';

function summary(values: number[]): { p50: number; p99: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}

/** The `channel.post` webhooks of one channel from `mark` on. */
function statusPosts(setup: EmulatedSetup, mark: number, channelId?: string): Received[] {
  return setup.receiver.received.slice(mark).filter((r) => eventOf(r) === 'channel.post' && (!channelId || r.json.channel_id === channelId));
}

/** Waits for the drop's way out of AUTH and back; answers when each was posted. */
async function outAndBack(setup: EmulatedSetup, mark: number, what: string, timeoutMs: number, channelId?: string): Promise<{ left: number; back: number }> {
  await until(() => statusPosts(setup, mark, channelId).some((r) => label(r) === 'AUTH'), `AUTH after ${what}`, timeoutMs, 50);
  const posts = statusPosts(setup, mark, channelId);
  const left = posts.find((r) => label(r) !== 'AUTH');
  const back = posts.find((r) => label(r) === 'AUTH');
  if (!left || !back) throw new Error(`${what}: no status change seen`);
  return { left: left.at, back: back.at };
}

async function cleanCloses(setup: EmulatedSetup): Promise<Record<string, unknown>> {
  const leave: number[] = [];
  const back: number[] = [];
  for (let i = 0; i < DROPS; i++) {
    const mark = setup.receiver.received.length;
    const at = setup.emulator.drop('close');
    const seen = await outAndBack(setup, mark, `drop ${i + 1}`, 30_000);
    leave.push(seen.left - at);
    back.push(seen.back - at);
    // The next drop needs the new connection logged in on the emulator's side too.
    await until(() => setup.emulator.live().some((c) => c.username), 'a logged-in connection');
  }
  return { drops: DROPS, drop_kind: 'close (428)', close_to_leaving_auth_ms: summary(leave), close_to_back_in_auth_ms: summary(back) };
}

async function silentSends(setup: EmulatedSetup): Promise<Record<string, unknown>> {
  const leave: number[] = [];
  const answered: number[] = [];
  let carriedOnce = 0;
  for (let i = 0; i < SILENT_DROPS; i++) {
    const mark = setup.receiver.received.length;
    setup.emulator.silence();
    const at = Date.now();
    const res = await setup.gate<{ message?: { id: string; status: string } }>('POST', '/messages/text', { to: RECIPIENT, body: `silent drop ${i + 1}` });
    const answeredAt = Date.now();
    const seen = await outAndBack(setup, mark, `silent drop ${i + 1}`, 30_000);
    leave.push(seen.left - at);
    answered.push(answeredAt - at);
    const id = res.body.message?.id;
    const carried = setup.emulator.messages.filter((m) => m.id === id);
    await until(() => carried.every((m) => m.body !== undefined), 'the recipient decrypted the message', 5_000).catch(() => undefined);
    if (res.status === 200 && res.body.message?.status === 'sent' && carried.length === 1 && carried[0]?.body === `silent drop ${i + 1}`) carriedOnce += 1;
    await until(() => setup.emulator.live().some((c) => c.username), 'a logged-in connection');
  }
  return {
    drops: SILENT_DROPS,
    drop_kind: 'silence, a send in flight (ack window 3 s, probe timeout 3 s)',
    send_to_leaving_auth_ms: summary(leave),
    send_to_answer_ms: summary(answered),
    messages_received_and_decrypted_exactly_once: carriedOnce,
  };
}

async function silentAtRest(setup: EmulatedSetup): Promise<Record<string, unknown>> {
  const { emulator, gw, receiver } = setup;
  // One channel per drop, each its own linked device, so the drops run side by side.
  const taken = new Set(emulator.live().filter((c) => c.username).map((c) => c.device));
  const channels: Array<{ id: string; device: number }> = [];
  for (let i = 0; i < SILENT_DROPS; i++) {
    const ch = await createEmulatedChannel(gw, receiver);
    await scanQr({ ...setup, gate: ch.gate });
    await reach(ch.gate, 'AUTH');
    let device = -1;
    await until(() => {
      device = emulator.live().find((c) => c.username && !taken.has(c.device))?.device ?? -1;
      return device >= 0;
    }, 'the new channel logged in');
    taken.add(device);
    channels.push({ id: ch.id, device });
  }
  const mark = receiver.received.length;
  const silencedAt = new Map<string, number>();
  // Each channel is silenced at a random point of its 30 s keep-alive cycle.
  await Promise.all(
    channels.map(async (ch) => {
      await new Promise((r) => setTimeout(r, Math.random() * 30_000));
      const conn = emulator.live().find((c) => c.username && c.device === ch.device);
      if (!conn) throw new Error(`channel ${ch.id} has no live connection`);
      silencedAt.set(ch.id, emulator.silence(conn));
    }),
  );
  const leave = await Promise.all(
    channels.map(async (ch) => {
      await until(() => statusPosts(setup, mark, ch.id).some((r) => label(r) !== 'AUTH'), `channel ${ch.id} leaving AUTH`, 90_000, 100);
      return statusPosts(setup, mark, ch.id).find((r) => label(r) !== 'AUTH')!.at - silencedAt.get(ch.id)!;
    }),
  );
  return { drops: SILENT_DROPS, drop_kind: 'silence at rest (keep-alive 30 s, ack window 3 s, probe timeout 3 s)', silence_to_leaving_auth_ms: summary(leave) };
}

async function main(): Promise<void> {
  const setup = await startEmulatedGateway();
  try {
    await pair(setup);
    const clean = await cleanCloses(setup);
    const sends = await silentSends(setup);
    const rest = await silentAtRest(setup);
    console.log(JSON.stringify({ clean_close: clean, silent_with_send: sends, silent_at_rest: rest, emulator_errors: setup.emulator.errors.length }, null, 2));
  } finally {
    await setup.close();
  }
}

await main();
