/**
 * `npm run bench:streams`: 60 `/events?last_event_id=0` clients that never read, on a channel
 * with a 17,000-event backlog (the scenario of issue 11, finding 7). Reports the gateway's peak
 * live memory (heap and buffers, after a full collection) and RSS above the baseline measured
 * just before the clients connect, per client and against the backlog's size, and how long until
 * every silent client was cut off. The test suite runs the same scenario small
 * (test/ops/events-backpressure.test.ts).
 */
import { connect, type Socket } from 'node:net';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import type { OutboundEvent } from '../src/store/types.js';
import { tempDataDir } from '../test/support/process.js';

const CLIENTS = Number(process.env.BENCH_STREAM_CLIENTS ?? 60);
const EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 17_000);
const BODY = 'x'.repeat(1000);
const STALL_MS = 5000;
const ADMIN = 'bench-admin-token-0123456789';

const mb = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;

function live(): number {
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

async function main(): Promise<void> {
  if (!global.gc) throw new Error('run with node --expose-gc (npm run bench:streams does)');
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-'), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'error', WAGATE_STREAM_STALL_TIMEOUT_MS: String(STALL_MS) }),
  );
  const server = new Map<number, Socket>();
  gateway.app.server.on('connection', (s: Socket) => server.set(s.remotePort ?? 0, s));
  const { runtime, token } = await gateway.channels.create({ name: 'bench', engine: 'sandbox', start: false });
  let backlogBytes = 0;
  for (let n = 0; n < EVENTS; n += 500) {
    const events: OutboundEvent[] = Array.from({ length: Math.min(500, EVENTS - n) }, (_, i) => ({
      name: 'messages.post',
      body: { messages: [{ id: `m${n + i}`, type: 'text', text: { body: BODY } }], event: { type: 'messages', event: 'post' }, channel_id: runtime.id },
      createdAt: Date.now(),
    }));
    await gateway.store.commitChange({ channelId: runtime.id, events });
    // What the stream writes per event: the frame's id and name lines, and the body as JSON.
    for (const e of events) backlogBytes += JSON.stringify(e.body).length + 40;
  }

  const baseLive = live();
  const baseRss = process.memoryUsage().rss;
  let peakLive = baseLive;
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakLive = Math.max(peakLive, live());
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  const started = performance.now();
  const url = new URL(gateway.url);
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.pause();
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`GET /events?last_event_id=0 HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${token}\r\n\r\n`);
      return socket;
    }),
  );
  while (!clients.every((c) => server.get(c.localPort ?? -1)?.destroyed)) {
    if (performance.now() - started > 300_000) throw new Error('the silent clients were not cut off within 5 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  const cutAfterMs = performance.now() - started;
  clearInterval(sampler);
  peakLive = Math.max(peakLive, live());
  for (const c of clients) c.destroy();
  await gateway.close();

  const growth = peakLive - baseLive;
  console.log(
    JSON.stringify(
      {
        clients: CLIENTS,
        events: EVENTS,
        backlog_mb: mb(backlogBytes),
        baseline_live_mb: mb(baseLive),
        peak_live_growth_mb: mb(growth),
        peak_live_growth_per_client_mb: mb(growth / CLIENTS),
        growth_vs_backlog_per_client: Math.round((growth / CLIENTS / backlogBytes) * 1000) / 1000,
        peak_rss_growth_mb: mb(peakRss - baseRss),
        all_cut_off_after_s: Math.round(cutAfterMs / 100) / 10,
        stall_timeout_s: STALL_MS / 1000,
      },
      null,
      2,
    ),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
