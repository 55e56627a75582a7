/**
 * `npm run bench:sessions`: N real Baileys clients (BENCH_SESSIONS, default 200) in one gateway
 * process, each paired with the WhatsApp Web emulator (run in a child process of its own, so only
 * the gateway is measured). Prints the gateway's memory per session (RSS and heap after a forced
 * GC, settled, against the figure before the first channel) and its idle CPU per session (CPU time
 * over BENCH_IDLE_S seconds with every session in AUTH and nothing sent), as JSON.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { until } from '../test/support/http.js';
import { startTestGateway } from '../test/support/gateway.js';
import { startReceiver } from '../test/support/receiver.js';
import { trustRoot } from '../test/emulator/certificates.js';
import { MEDIA_HOST_PEM } from '../test/emulator/media-host.js';
import { createEmulatedChannel, reach } from '../test/emulator/harness.js';

console.info = () => undefined; // libsignal logs every session it opens
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 4);

function memory(): { rss: number; heap: number } {
  global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 1_048_576, heap: m.heapUsed / 1_048_576 };
}

/** The lowest RSS and heap over `seconds` one-second samples: garbage collected, free pages handed back. */
async function settledMemory(seconds: number): Promise<{ rss: number; heap: number }> {
  let low = memory();
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = memory();
    low = { rss: Math.min(low.rss, m.rss), heap: Math.min(low.heap, m.heap) };
  }
  return low;
}

/** The emulator's process, and a call that sends it one command and waits for its answer. */
async function emulatorProcess(): Promise<{ url: string; root: Buffer; call: (cmd: object) => Promise<Record<string, unknown>>; stop: () => void }> {
  const child = spawn(process.execPath, [...process.execArgv, new URL('./sessions-emulator.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting = new Map<number, (v: Record<string, unknown>) => void>();
  let hello: (v: Record<string, unknown>) => void = () => undefined;
  const first = new Promise<Record<string, unknown>>((r) => (hello = r));
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if (typeof msg.id === 'number') waiting.get(msg.id)?.(msg);
    else hello(msg);
  });
  const started = await first;
  let next = 0;
  return {
    url: String(started.url),
    root: Buffer.from(String(started.root), 'hex'),
    call: (cmd) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
      }),
    stop: () => void child.kill('SIGTERM'),
  };
}

async function main(): Promise<void> {
  const emu = await emulatorProcess();
  trustRoot(emu.root);
  const receiver = await startReceiver();
  const gw = await startTestGateway({ env: { WAGATE_BAILEYS_WS_URL: emu.url, WAGATE_BAILEYS_MEDIA_CA: MEDIA_HOST_PEM, WAGATE_LOG_LEVEL: 'silent' } });
  try {
    // One channel first, so what every gateway loads once (Baileys itself, its protobufs) is not
    // counted per session.
    const pairOne = async (): Promise<void> => {
      const ch = await createEmulatedChannel(gw, receiver);
      await reach(ch.gate, 'QR', 120_000);
      const qr = await ch.gate<{ rowdata: string }>('GET', '/users/login');
      const answer = await emu.call({ scan: qr.body.rowdata });
      if (answer.error) throw new Error(String(answer.error));
      await reach(ch.gate, 'AUTH', 120_000);
    };
    await pairOne();
    const before = await settledMemory(5);
    const started = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < SESSIONS) {
          next++;
          await pairOne();
        }
      }),
    );
    const pairedS = (performance.now() - started) / 1000;
    await until(() => [...gw.gateway.channels.all()].every((c) => c.state.status === 'AUTH'), 'every session in AUTH', 60_000);
    const after = await settledMemory(10);
    const cpu0 = process.cpuUsage();
    const emuCpu0 = Number((await emu.call({ cpu: true })).cpu_ms);
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idleMs = performance.now() - idleStart;
    const cpu = process.cpuUsage(cpu0);
    const emuEnd = await emu.call({ cpu: true });
    const authed = [...gw.gateway.channels.all()].filter((c) => c.state.status === 'AUTH').length;
    const added = SESSIONS - 1;
    console.log(
      JSON.stringify(
        {
          sessions: SESSIONS,
          in_auth_at_the_end: authed,
          pairing_s: +pairedS.toFixed(1),
          rss_before_mb: +before.rss.toFixed(1),
          rss_after_mb: +after.rss.toFixed(1),
          rss_mb_per_session: +((after.rss - before.rss) / added).toFixed(2),
          heap_mb_per_session: +((after.heap - before.heap) / added).toFixed(2),
          waha_published_mb_per_session: 60,
          idle_window_s: +(idleMs / 1000).toFixed(1),
          idle_cpu_percent_of_a_core: +((100 * (cpu.user + cpu.system)) / 1000 / idleMs).toFixed(2),
          idle_cpu_ms_per_session_per_minute: +((((cpu.user + cpu.system) / 1000 / SESSIONS) * 60_000) / idleMs).toFixed(2),
          emulator: { cpu_ms_in_idle_window: Math.round(Number(emuEnd.cpu_ms) - emuCpu0), rss_mb: Math.round(Number(emuEnd.rss_mb)), errors: emuEnd.errors },
        },
        null,
        2,
      ),
    );
  } finally {
    await gw.close();
    await receiver.close();
    emu.stop();
  }
}

await main();
