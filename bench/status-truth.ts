/**
 * `node --import tsx bench/status-truth.ts`: status truth, measured. A real Baileys client in an
 * in-process gateway is paired with the WhatsApp Web emulator; the emulator then closes the
 * connection DROPS times (a plain close: 428). For each drop: the time from the close to the
 * `channel.post` that leaves AUTH at a loopback receiver, and to the `channel.post` back in AUTH
 * (which includes the lifecycle's first reconnect backoff, about 0.5-1 s). Prints JSON.
 */
import { until } from '../test/support/http.js';
import type { Received } from '../test/support/receiver.js';
import { eventOf, label, reach, scanQr, startEmulatedGateway } from '../test/emulator/harness.js';
import { percentile } from './stats.js';

const DROPS = Number(process.env.BENCH_DROPS ?? 50);

function summary(values: number[]): { p50: number; p99: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}

async function main(): Promise<void> {
  const setup = await startEmulatedGateway();
  const { emulator, receiver, gate } = setup;
  try {
    await scanQr(setup);
    await reach(gate, 'AUTH');
    await until(() => receiver.received.some((r) => eventOf(r) === 'users.post'), 'users.post');
    const statusPosts = (from: number): Received[] => receiver.received.slice(from).filter((r) => eventOf(r) === 'channel.post');
    const leave: number[] = [];
    const back: number[] = [];
    for (let i = 0; i < DROPS; i++) {
      const mark = receiver.received.length;
      const at = emulator.drop('close');
      await until(() => statusPosts(mark).some((r) => label(r) === 'AUTH'), `AUTH after drop ${i + 1}`, 30_000);
      const posts = statusPosts(mark);
      const left = posts.find((r) => label(r) !== 'AUTH');
      const auth = posts.find((r) => label(r) === 'AUTH');
      if (!left || !auth) throw new Error(`drop ${i + 1}: no status change seen`);
      leave.push(left.at - at);
      back.push(auth.at - at);
      // The next drop needs the new connection logged in on the emulator's side too.
      await until(() => emulator.live().some((c) => c.username), 'a logged-in connection');
    }
    console.log(
      JSON.stringify(
        {
          drops: DROPS,
          drop_kind: 'close (428)',
          close_to_leaving_auth_ms: summary(leave),
          close_to_back_in_auth_ms: summary(back),
          emulator_errors: emulator.errors.length,
        },
        null,
        2,
      ),
    );
  } finally {
    await setup.close();
  }
}

await main();
