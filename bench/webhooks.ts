/**
 * `npm run bench:webhooks`: events per second delivered through the durable path (store outbox →
 * dispatcher → loopback receiver) beside the ceiling measured in the same run: the same payloads
 * POSTed straight with undici to the same receiver at the same concurrency, with no store.
 *
 * The producer must outrun delivery, or the ratio measures the producer. By default
 * (`BENCH_PRODUCER=publish`) every channel publishes `channel.post` events through its own
 * outbox (`ChannelRuntime.publish`: the channel's journal, one transaction per event, as alerts
 * and messages are written), all channels at once, each as fast as its commits return.
 * `BENCH_PRODUCER=restart` restarts every sandbox channel instead (INIT, LAUNCH and QR status
 * changes through the lifecycle), which is bounded by the lifecycle's own pace.
 */
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { tempDataDir } from '../test/support/process.js';
import { startBenchReceiver } from './receiver.js';
import { profiling } from './profile.js';
import { percentile } from './stats.js';
import { storeEnvFromProcess } from './stores.js';

const PRODUCER = process.env.BENCH_PRODUCER ?? 'publish';
const CHANNELS = Number(process.env.BENCH_CHANNELS ?? (PRODUCER === 'publish' ? 200 : 50));
const EVENTS = Number(process.env.BENCH_EVENTS ?? 12_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const CONCURRENCY = 64; // the dispatcher's default number of attempts in flight

async function main(): Promise<void> {
  const receiver = await startBenchReceiver({ byId: true });
  const received = receiver.firstAt;
  const hook = receiver.url;

  const env = storeEnvFromProcess();
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-'), WAGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789', WAGATE_LOG_LEVEL: 'error', ...env }),
  );
  // Status changes only: channel.patch would add a PNG render per QR, which is not the outbox's cost.
  const settings = { webhooks: [{ url: hook, events: [{ type: 'channel', method: 'post' }] }] };
  const ids: string[] = [];
  for (let i = 0; i < CHANNELS; i++) {
    const { runtime } = await gateway.channels.create({ name: `b${i}`, engine: 'sandbox', engineOptions: { init_ms: 0, launch_ms: 0 }, settings: await gateway.webhooks.settingsForNewChannel(settings) });
    ids.push(runtime.id);
  }
  const settle = async (): Promise<void> => {
    for (;;) {
      const { pending } = await gateway.store.outboxDepth();
      if (pending === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // Inside a measured phase the wait must cost the gateway nothing: counting the pending rows
  // every 20 ms was 3.5 % of the durable phase's CPU profile. The receiver's count is watched
  // instead, then the outbox is checked once (every outcome committed).
  const receivedAll = async (n: number): Promise<void> => {
    while (received.size < n) await new Promise((r) => setTimeout(r, 5));
    await settle();
  };
  await Promise.all(ids.map((id) => gateway.channels.find(id)!.waitFor((s) => s.status === 'QR', 30_000)));
  await settle();
  received.clear();

  // Store calls the dispatcher makes, counted on the store object it holds (claims, outcome
  // batches, due-time reads): divided by deliveries, the statements a delivered event costs.
  // On SQLite each outcome is its own call into the group commit: transactions_per_delivery
  // counts what is written (changes and outcomes together).
  const counted = ['dueDeliveries', 'claimDeliveries', 'claimQueues', 'recordAttempt', 'recordAttempts', 'nextDeliveryDue', 'failQueue', 'cancelDeliveries', 'renewDeliveryClaims', 'releaseDeliveryClaims'] as const;
  const calls = new Map<string, number>();
  const store = gateway.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of counted) {
    const original = store[name];
    if (!original) continue;
    store[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return original.apply(gateway.store, args);
    };
  }

  const afterSeq = await gateway.store.lastEventSeq();
  const startCommits = (gateway.store as { group?: { commits: number } }).group?.commits ?? NaN;
  const stopProfile = await profiling(`${gateway.store.kind}-durable`); // BENCH_CPU_PROFILE: the durable phase
  const cpu = process.cpuUsage();
  const started = Date.now();
  if (PRODUCER === 'publish') {
    const perChannel = Math.ceil(EVENTS / ids.length);
    await Promise.all(
      ids.map(async (id) => {
        const runtime = gateway.channels.find(id)!;
        for (let i = 0; i < perChannel; i++) await runtime.publish([{ name: 'channel.post', payload: { health: runtime.health() } }]);
      }),
    );
  } else {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        ids.map(async (id) => {
          const runtime = await gateway.channels.restart(id);
          await runtime.waitFor((s) => s.status === 'QR' && s.qr !== null, 10_000);
        }),
      );
    }
  }
  const producedSeconds = (Date.now() - started) / 1000;
  if (PRODUCER === 'publish') await receivedAll(Math.ceil(EVENTS / ids.length) * ids.length);
  else {
    await new Promise((r) => setTimeout(r, 50)); // the last restarts' events are being written
    await settle();
  }
  const durableCpu = process.cpuUsage(cpu);
  await stopProfile();
  // Transactions written (SQLite's group commit): outcomes are handed to it one by one.
  const commits = (): number => (gateway.store as { group?: { commits: number } }).group?.commits ?? NaN;
  const groupCommits = commits() - startCommits;
  const events = (await gateway.store.listEvents(null, afterSeq, 10_000_000)).filter((e) => e.name === 'channel.post');
  const lastReceipt = Math.max(...received.values());
  const durableSeconds = (lastReceipt - started) / 1000;
  const latencies = events.map((e) => (received.get(`msg_${e.seq}`) ?? NaN) - e.createdAt).sort((a, b) => a - b);
  const missing = latencies.filter((l) => Number.isNaN(l)).length;
  const durableCalls = Object.fromEntries(calls);
  const totalCalls = [...calls.values()].reduce((a, b) => a + b, 0);
  calls.clear();

  // The ceiling: the same bodies, straight to the receiver, same concurrency, no store. It is
  // measured twice, now and after the delivery-only phase, and the ratios use the mean: on
  // these machines one ceiling run alone varied from 7,300 to 19,800 per second.
  const agent = new Agent({ connections: CONCURRENCY });
  const payloads = events.map((e) => JSON.stringify(e.body));
  const ceiling = async (): Promise<{ rate: number; cpuUs: number }> => {
    const ceilingCpu = process.cpuUsage();
    const ceilingStart = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < payloads.length) {
          const res = await request(hook, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: payloads[next++] });
          await res.body.dump();
        }
      }),
    );
    const used = process.cpuUsage(ceilingCpu);
    return { rate: payloads.length / ((Date.now() - ceilingStart) / 1000), cpuUs: used.user + used.system };
  };
  const firstCeiling = await ceiling();

  // Delivery alone: the outbox filled (through each channel's outbox, as above) while the
  // dispatcher waits, then drained.
  await gateway.webhooks.dispatcher.stop();
  const perChannel = Math.ceil(events.length / ids.length);
  // Producing alone (the same publishes, nothing sent): what the durable path does that the
  // ceiling does not, before any delivery work.
  const stopProduceProfile = await profiling(`${gateway.store.kind}-produce`);
  const produceCpu = process.cpuUsage();
  await Promise.all(
    ids.map(async (id) => {
      const runtime = gateway.channels.find(id)!;
      for (let i = 0; i < perChannel; i++) await runtime.publish([{ name: 'channel.post', payload: { health: runtime.health() } }]);
    }),
  );
  const produceUsage = process.cpuUsage(produceCpu);
  await stopProduceProfile();
  const drainCommits = commits();
  received.clear();
  const prefilled = perChannel * ids.length;
  const stopDrainProfile = await profiling(`${gateway.store.kind}-delivery`); // BENCH_CPU_PROFILE: delivery alone
  const drainCpu = process.cpuUsage();
  const drainStart = Date.now();
  gateway.webhooks.dispatcher.start();
  await receivedAll(prefilled);
  const drainUsage = process.cpuUsage(drainCpu);
  await stopDrainProfile();
  const drainSeconds = (Math.max(...received.values()) - drainStart) / 1000;
  const drainCalls = [...calls.values()].reduce((a, b) => a + b, 0);
  const drainGroupCommits = commits() - drainCommits;

  const secondCeiling = await ceiling();
  const durableRate = events.length / durableSeconds;
  const ceilingRate = (firstCeiling.rate + secondCeiling.rate) / 2;
  const cpuPerEvent = (u: NodeJS.CpuUsage, n: number): number => Math.round((u.user + u.system) / n);
  // Both ceiling runs together: each POSTed every payload once.
  const ceilingCpuPerEvent = Math.round((firstCeiling.cpuUs + secondCeiling.cpuUs) / (2 * payloads.length));
  const producingCpuPerEvent = cpuPerEvent(produceUsage, perChannel * ids.length);
  console.log(
    JSON.stringify(
      {
        store: gateway.store.kind,
        producer: PRODUCER,
        channels: CHANNELS,
        events: events.length,
        missing,
        produced_events_per_s: Math.round(events.length / producedSeconds),
        durable_events_per_s: Math.round(durableRate),
        direct_undici_events_per_s: Math.round(ceilingRate),
        direct_undici_runs_per_s: [Math.round(firstCeiling.rate), Math.round(secondCeiling.rate)],
        durable_to_direct_ratio: +(durableRate / ceilingRate).toFixed(3),
        cpu_us_per_event: {
          durable: cpuPerEvent(durableCpu, events.length),
          direct_undici: ceilingCpuPerEvent,
          producing_alone: producingCpuPerEvent,
        },
        // On one thread, the ratio the durable path could reach if delivering cost it no more
        // than the ceiling's POST: direct / (producing + direct), from the CPU figures.
        ratio_bound_from_producing: +(ceilingCpuPerEvent / (producingCpuPerEvent + ceilingCpuPerEvent)).toFixed(3),
        latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
        store_calls_per_delivery: +(totalCalls / events.length).toFixed(3),
        store_calls: durableCalls,
        transactions_per_delivery: +(groupCommits / events.length).toFixed(3),
        delivery_only: {
          deliveries: prefilled,
          received: received.size,
          events_per_s: Math.round(prefilled / drainSeconds),
          to_direct_ratio: +(prefilled / drainSeconds / ceilingRate).toFixed(3),
          cpu_us_per_event: cpuPerEvent(drainUsage, prefilled),
          store_calls_per_delivery: +(drainCalls / prefilled).toFixed(3),
          transactions_per_delivery: +(drainGroupCommits / prefilled).toFixed(3),
        },
      },
      null,
      2,
    ),
  );
  await agent.close();
  await gateway.close();
  await receiver.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
