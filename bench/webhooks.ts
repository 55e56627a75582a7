/**
 * `npm run bench:webhooks`: events per second delivered through the durable path (store outbox →
 * dispatcher → loopback receiver) and the latency from status change to receipt, beside the
 * ceiling measured in the same run: the same payloads POSTed straight with undici to the same
 * receiver at the same concurrency, with no store.
 */
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { tempDataDir } from '../test/support/process.js';
import { percentile } from './stats.js';

const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const CONCURRENCY = 64; // the dispatcher's default number of attempts in flight

async function main(): Promise<void> {
  const received = new Map<string, number>();
  let bodies: string[] = [];
  const server = createServer((req, res) => {
    const id = String(req.headers['webhook-id'] ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (id && !received.has(id)) received.set(id, Date.now());
      if (!id) bodies.push(Buffer.concat(chunks).toString());
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;

  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-'), WAGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789', WAGATE_LOG_LEVEL: 'error', ...process.env.WAGATE_DATABASE_URL ? { WAGATE_DATABASE_URL: process.env.WAGATE_DATABASE_URL } : {}, ...process.env.WAGATE_SQLITE_SYNCHRONOUS ? { WAGATE_SQLITE_SYNCHRONOUS: process.env.WAGATE_SQLITE_SYNCHRONOUS } : {} }),
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
  await settle();
  received.clear();

  // Store calls the dispatcher makes, counted on the store object it holds (claims, outcome
  // batches, due-time reads): divided by deliveries, the statements a delivered event costs.
  const counted = ['dueDeliveries', 'claimDeliveries', 'recordAttempt', 'recordAttempts', 'nextDeliveryDue', 'failQueue', 'cancelDeliveries'] as const;
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

  // The durable path: every restart writes INIT, LAUNCH and QR status changes for each channel.
  const started = Date.now();
  const afterSeq = await gateway.store.lastEventSeq();
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      ids.map(async (id) => {
        const runtime = await gateway.channels.restart(id);
        await runtime.waitFor((s) => s.status === 'QR' && s.qr !== null, 10_000);
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 50));
  await settle();
  const events = (await gateway.store.listEvents(null, afterSeq, 1_000_000)).filter((e) => e.name === 'channel.post');
  const lastReceipt = Math.max(...received.values());
  const durableSeconds = (lastReceipt - started) / 1000;
  const latencies = events.map((e) => (received.get(`msg_${e.seq}`) ?? NaN) - e.createdAt).sort((a, b) => a - b);
  const missing = latencies.filter((l) => Number.isNaN(l)).length;

  // The ceiling: the same bodies, straight to the receiver, same concurrency, no store.
  const agent = new Agent({ connections: CONCURRENCY });
  const payloads = events.map((e) => JSON.stringify(e.body));
  bodies = [];
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
  const ceilingSeconds = (Date.now() - ceilingStart) / 1000;

  const durableCalls = Object.fromEntries(calls);
  const totalCalls = [...calls.values()].reduce((a, b) => a + b, 0);
  calls.clear();

  // Delivery alone: the outbox filled while the dispatcher waits, then drained.
  const hookTarget = { url: hook, mode: 'body' as const, headers: {}, secret: null, maxAgeSeconds: 172_800, ordered: true, backoffDelayMs: 3000, maxBackoffDelayMs: 900_000 };
  await gateway.webhooks.dispatcher.stop();
  const perChannel = Math.ceil(events.length / ids.length);
  for (const id of ids) {
    const now = Date.now();
    const batch = Array.from({ length: perChannel }, (_, i) => ({ name: 'channel.post' as const, body: { ...(events[i % events.length]!.body), channel_id: id }, createdAt: now, targets: [hookTarget] }));
    await gateway.store.commitChange({ channelId: id, events: batch });
  }
  received.clear();
  const prefilled = perChannel * ids.length;
  const drainStart = Date.now();
  gateway.webhooks.dispatcher.start();
  await settle();
  const drainSeconds = (Math.max(...received.values()) - drainStart) / 1000;
  const drainCalls = [...calls.values()].reduce((a, b) => a + b, 0);

  const durableRate = events.length / durableSeconds;
  const ceilingRate = payloads.length / ceilingSeconds;
  console.log(
    JSON.stringify(
      {
        store: gateway.store.kind,
        channels: CHANNELS,
        events: events.length,
        missing,
        durable_events_per_s: Math.round(durableRate),
        direct_undici_events_per_s: Math.round(ceilingRate),
        durable_to_direct_ratio: +(durableRate / ceilingRate).toFixed(3),
        latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
        store_calls_per_delivery: +(totalCalls / events.length).toFixed(3),
        store_calls: durableCalls,
        delivery_only: {
          deliveries: prefilled,
          received: received.size,
          events_per_s: Math.round(prefilled / drainSeconds),
          to_direct_ratio: +(prefilled / drainSeconds / ceilingRate).toFixed(3),
          store_calls_per_delivery: +(drainCalls / prefilled).toFixed(3),
        },
      },
      null,
      2,
    ),
  );
  await agent.close();
  await gateway.close();
  server.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
