/**
 * `npm run bench:latency`: status change → webhook received, at a steady pace. Sandbox channels
 * (1,000 by default), each in AUTH with one webhook taking `channel.post`, are blipped one after
 * another at a fixed interval (a blip is AUTH → INIT → LAUNCH → AUTH: three status changes), so
 * events arrive at 100, 500 and 1,000 per second, spread over every channel, never in a burst.
 * Each event is timed from its status change (the lifecycle's step stamps `created_at` before
 * the commit starts) to its first receipt at a loopback receiver. Prints JSON.
 */
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { sandboxOf } from '../src/http/gate/sandbox.js';
import { tempDataDir } from '../test/support/process.js';
import { profiling } from './profile.js';
import { startBenchReceiver } from './receiver.js';
import { percentile } from './stats.js';
import { createTestSchema } from '../src/store/postgres/testing.js';
import { storeEnvFromProcess } from './stores.js';

const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 1000);
const RATES = (process.env.BENCH_RATES ?? '100,500,1000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Status changes per blip: leaving AUTH, LAUNCH, back in AUTH. */
const EVENTS_PER_BLIP = 3;

const wallNow = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const receiver = await startBenchReceiver({ byId: true, now: wallNow });
  const received = receiver.firstAt;
  const hook = receiver.url;
  const env = storeEnvFromProcess();
  // A schema of its own on PostgreSQL: channels an earlier run left in the database's default
  // schema were resumed too, and their deliveries to that run's receiver, gone, never settled.
  const schema = env.WAGATE_DATABASE_URL ? await createTestSchema(env.WAGATE_DATABASE_URL) : null;
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-latency-'), WAGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789', WAGATE_LOG_LEVEL: 'error', ...env }),
    { pgSchema: schema?.schema },
  );
  const settings = await gateway.webhooks.settingsForNewChannel({ webhooks: [{ url: hook, events: [{ type: 'channel', method: 'post' }] }] });
  const setupStarted = performance.now();
  const runtimes = [];
  for (let i = 0; i < CHANNELS; i++) {
    const { runtime } = await gateway.channels.create({ name: `l${i}`, engine: 'sandbox', engineOptions: { init_ms: 0, launch_ms: 0 }, settings });
    runtimes.push(runtime);
  }
  for (const runtime of runtimes) {
    // QR in the record can come a moment before the engine shows one (a node taking its lease).
    for (let tries = 0; ; tries++) {
      await runtime.waitFor((s) => s.status === 'QR', 30_000);
      try {
        await sandboxOf(runtime).scan();
        break;
      } catch (err) {
        if (tries > 500) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  await Promise.all(runtimes.map((r) => r.waitFor((s) => s.status === 'AUTH', 30_000)));
  const settle = async (): Promise<void> => {
    while ((await gateway.store.outboxDepth()).pending > 0) await new Promise((r) => setTimeout(r, 20));
  };
  await settle();
  const setupS = +((performance.now() - setupStarted) / 1000).toFixed(1);

  // Transactions written: status changes and, on PostgreSQL, the dispatcher's outcome batches
  // (SQLite's group commit writes both).
  const outcomeCommits = (): number => (gateway.store.groupsWrites ? 0 : gateway.webhooks.dispatcher.outcomes.commits);
  const commits = (): number => ((gateway.store as { group?: { commits?: number } }).group?.commits ?? NaN) + outcomeCommits();
  const results = [];
  let next = 0;
  for (const rate of RATES) {
    const afterSeq = await gateway.store.lastEventSeq();
    const interval = (1000 * EVENTS_PER_BLIP) / rate;
    const blips = Math.round((SECONDS * 1000) / interval);
    const stopProfile = await profiling(`${gateway.store.kind}-${rate}`); // BENCH_CPU_PROFILE: each rate's run
    const commitsBefore = commits();
    // How much the loop itself stalled, and what GC took: on a VM that is sometimes slowed down
    // they tell a disturbed run's p99 from the gateway's own.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const pauses: number[] = [];
    const gc = new PerformanceObserver((list) => pauses.push(...list.getEntries().map((e) => e.duration)));
    gc.observe({ entryTypes: ['gc'] });
    const started = performance.now();
    let skipped = 0;
    // Paced against the start, so a late tick does not shift every later one (no drift, no burst).
    for (let i = 0; i < blips; i++) {
      const wait = started + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      let tries = 0;
      let runtime = runtimes[next++ % runtimes.length]!;
      while (runtime.state.status !== 'AUTH' && tries++ < runtimes.length) runtime = runtimes[next++ % runtimes.length]!;
      if (runtime.state.status !== 'AUTH') {
        skipped += 1;
        continue;
      }
      try {
        sandboxOf(runtime).blip(0);
      } catch {
        // AUTH in the record, but its connection is already going (a blip of its own in flight).
        skipped += 1;
      }
    }
    const elapsed = (performance.now() - started) / 1000;
    loopDelay.disable();
    gc.disconnect();
    await Promise.all(runtimes.map((r) => r.waitFor((s) => s.status === 'AUTH', 30_000)));
    await settle();
    await stopProfile();
    const events = (await gateway.store.listEvents(null, afterSeq, 10_000_000)).filter((e) => e.name === 'channel.post');
    const latencies = events.map((e) => (received.get(`msg_${e.seq}`) ?? NaN) - e.createdAt).sort((a, b) => a - b);
    const round = (ms: number): number => +ms.toFixed(1);
    results.push({
      target_events_per_s: rate,
      events_per_s: Math.round(events.length / elapsed),
      events: events.length,
      missing: latencies.filter((l) => Number.isNaN(l)).length,
      skipped_blips: skipped,
      // Transactions (status changes and delivery outcomes), per event.
      commits_per_event: +((commits() - commitsBefore) / events.length).toFixed(2),
      latency_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? NaN) },
      loop_delay_ms: { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
      gc_ms: { total: round(pauses.reduce((a, b) => a + b, 0)), max: round(Math.max(0, ...pauses)) },
    });
  }
  console.log(JSON.stringify({ store: gateway.store.kind, channels: CHANNELS, setup_s: setupS, seconds_per_rate: SECONDS, goal: 'p99 < 20 ms at 1,000 events/s', rates: results }, null, 2));
  await gateway.close();
  await receiver.close();
  await schema?.drop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
