/**
 * `npm run bench:channels`: 10,000 sandbox channels brought to AUTH in one process.
 * Reports time to AUTH, memory per channel (RSS delta / channels, right after the burst of
 * creations and settled: the lowest RSS over the next BENCH_SETTLE_S seconds, as V8 hands free
 * pages back; and the heap's own delta), and GET /health requests per second beside a bare
 * Fastify route measured in the same process, in alternating rounds (the ratio is the figure to
 * compare across machines; absolute numbers on shared machines are noisy), and beside it the
 * ratio of CPU time per request (bare's over health's: client and server run in this process), which
 * other processes' share of the machine moves less.
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { client } from '../test/support/http.js';
import { tempDataDir } from '../test/support/process.js';

const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 10_000);
const CONCURRENCY = 64;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 10);
const ADMIN = 'bench-admin-token-0123456789';

function rssMb(): number {
  global.gc?.();
  return process.memoryUsage().rss / 1_048_576;
}

function heapMb(): number {
  global.gc?.();
  return process.memoryUsage().heapUsed / 1_048_576;
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Retries a call whose connection was reset before an answer (a keep-alive race under load). */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/** Requests per second, and this process's CPU time per request (client and server alike: both run here). */
async function rps(url: string, headers: Record<string, string>): Promise<{ rps: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const result = await autocannon({ url, connections: 32, duration: DURATION_S, headers });
  const used = process.cpuUsage(cpu);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, cpuUs: (used.user + used.system) / result.requests.total };
}

async function main(): Promise<void> {
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-'), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'error' }),
  );
  const partner = client(gateway.url, ADMIN);
  const before = rssMb();
  const heapBefore = heapMb();
  const started = performance.now();

  // Each worker creates a channel and has its phone scan the QR as soon as one shows.
  const tokens: string[] = [];
  await inParallel([...Array(CHANNELS).keys()], CONCURRENCY, async (i) => {
    const res = await retried(() => partner<{ token: string }>('PUT', '/partner/channels', { name: `bench-${i}`, engine: 'sandbox', sandbox: { init_ms: 0, launch_ms: 0 } }));
    if (res.status !== 200) throw new Error(`create ${i}: ${res.status}`);
    tokens.push(res.body.token);
    const gate = client(gateway.url, res.body.token);
    for (;;) {
      const scan = await retried(() => gate('POST', '/sandbox/scan'));
      if (scan.status === 200) return;
      if (scan.status !== 409) throw new Error(`scan: ${scan.status} ${JSON.stringify(scan.body)}`);
      await new Promise((r) => setTimeout(r, 5)); // no QR yet: the channel is still launching
    }
  });
  const authed = [...gateway.channels.list({ count: CHANNELS, offset: 0 }).channels].filter((c) => c.state.status === 'AUTH').length;
  const toAuthMs = performance.now() - started;
  const after = rssMb();
  const heapAfter = heapMb();
  // V8 hands the pages a burst of creations left free back to the system over a few seconds (its
  // memory reducer): the settled figure is what a gateway holding these channels keeps.
  let settled = after;
  for (let s = 0; s < SETTLE_S; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    settled = Math.min(settled, rssMb());
  }
  if (authed !== CHANNELS) throw new Error(`only ${authed} of ${CHANNELS} channels reached AUTH`);

  const bare = Fastify();
  bare.get('/bare', async () => ({ channel_id: 'BARE-00000', start_at: 0, uptime: 0, version: '0', status: { code: 4, text: 'AUTH' } }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

  const token = tokens[Math.floor(tokens.length / 2)] as string;
  // Alternating rounds, so a change in the machine's load falls on both sides alike.
  const bareRounds: Array<{ rps: number; cpuUs: number }> = [];
  const healthRounds: Array<{ rps: number; cpuUs: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    bareRounds.push(await rps(`${bareUrl}/bare`, {}));
    healthRounds.push(await rps(`${gateway.url}/health`, { authorization: `Bearer ${token}` }));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const bareRps = median(bareRounds.map((r) => r.rps));
  const healthRps = median(healthRounds.map((r) => r.rps));
  // CPU time per request is what each answer costs, whatever share of the machine other processes took.
  const bareCpuUs = median(bareRounds.map((r) => r.cpuUs));
  const healthCpuUs = median(healthRounds.map((r) => r.cpuUs));

  const figures = {
    channels: CHANNELS,
    store: gateway.store.kind,
    time_to_auth_s: +(toAuthMs / 1000).toFixed(2),
    channels_per_s: Math.round(CHANNELS / (toAuthMs / 1000)),
    rss_before_mb: +before.toFixed(1),
    rss_after_mb: +after.toFixed(1),
    kb_per_channel_at_once: +(((after - before) * 1024) / CHANNELS).toFixed(1),
    rss_settled_mb: +settled.toFixed(1),
    kb_per_channel: +(((settled - before) * 1024) / CHANNELS).toFixed(1),
    heap_kb_per_channel: +(((heapAfter - heapBefore) * 1024) / CHANNELS).toFixed(1),
    health_rps: Math.round(healthRps),
    bare_fastify_rps: Math.round(bareRps),
    health_to_bare_ratio: +(healthRps / bareRps).toFixed(3),
    rounds: bareRounds.map((b, i) => +((healthRounds[i]?.rps ?? 0) / b.rps).toFixed(3)),
    health_cpu_us_per_request: +healthCpuUs.toFixed(1),
    bare_cpu_us_per_request: +bareCpuUs.toFixed(1),
    health_to_bare_cpu_ratio: +(bareCpuUs / healthCpuUs).toFixed(3),
  };
  console.log(JSON.stringify(figures, null, 2));
  await bare.close();
  await gateway.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
