/**
 * `npm run bench:nodes`: several gateway nodes on this machine over one PostgreSQL database
 * (SPEC §10): 1, 2 and 3 node processes in turn, each on a fresh database with CHANNELS sandbox
 * channels (default 300; BENCH_NODES_CHANNELS=3000 for the large run):
 * - channels brought to AUTH per second: CHANNELS channels created through every node in turn
 *   (32 at a time), each scanned through the next node once it shows its QR (the scan is carried
 *   to the node that runs it); from the first creation to the last channel AUTH under its lease;
 * - webhook deliveries per second: one inbound message per channel, posted to every node in turn
 *   (carried to the channel's node), each a `messages.post` to one loopback receiver; from the
 *   first post to the last delivery;
 * - failover (2 and 3 nodes): the last node SIGKILLed; from the kill to every channel it ran AUTH
 *   on the survivors under a new lease, as the database shows it (the lease TTL is the tests' 6 s;
 *   BENCH_NODES_TTL_MS changes it, with renewal and self-fence in the same proportions); split
 *   into the kill to its leases running out, to every one placed anew, and to the last AUTH
 *   transition (its own time), with the slowest poll (what the figure may lag by).
 * Rates are also given as ratios to the single node of the same run, with each node's lease
 * warnings (self-fences, renewals late or failed). Prints JSON; BENCH_NODES_LOGS=dir keeps the logs.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { until } from '../test/support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../test/support/process.js';
import { startReceiver } from '../test/support/receiver.js';
import { postgresForTests } from '../src/store/postgres/testing.js';
import { ADMIN, TEST_TIMINGS, TTL_MS, authUnderLease, clusterDatabase, leases, type ClusterDb } from '../test/cluster/cluster.js';

const CHANNELS = Number(process.env.BENCH_NODES_CHANNELS ?? 300);
const CONCURRENCY = 32;
const SECRET = 'bench-nodes-secret-0123456789abcdef';
/** The lease TTL (BENCH_NODES_TTL_MS, default the tests' 6 s); renewal and self-fence in the tests' proportions (1/4, 3/4). */
const TTL = Number(process.env.BENCH_NODES_TTL_MS ?? TTL_MS);
const TIMINGS = {
  ...TEST_TIMINGS,
  WAGATE_LEASE_TTL_MS: String(TTL),
  WAGATE_LEASE_RENEW_MS: String(Math.round(TTL / 4)),
  WAGATE_LEASE_FENCE_MS: String(Math.round((TTL * 3) / 4)),
};
const SANDBOX = { init_ms: 50, launch_ms: 100, receipt_delivered_ms: null, receipt_read_ms: null };

interface Channel {
  id: string;
  token: string;
}

async function call<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

/** Runs `fn` over `items`, `CONCURRENCY` at a time. */
async function pool<T>(items: T[], fn: (item: T, i: number) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

function startNodes(db: ClusterDb, count: number): Promise<GatewayProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      startGatewayProcess({
        WAGATE_DATABASE_URL: db.url,
        WAGATE_DATA_DIR: tempDataDir(),
        WAGATE_NODE_ID: `bench-${i + 1}`,
        WAGATE_NODE_SECRET: SECRET,
        WAGATE_ADMIN_TOKEN: ADMIN,
        WAGATE_DEFAULT_ENGINE: 'sandbox',
        ...TIMINGS,
      }),
    ),
  );
}

/** A request that may meet a moving channel (409) or a busy lease pool (503): retried a few times, counted. */
async function retried<T>(what: string, attempt: () => Promise<{ status: number; body: T }>, stats: { retries: number }): Promise<T> {
  for (let i = 0; ; i++) {
    const res = await attempt();
    if (res.status === 200) return res.body;
    if ((res.status !== 503 && res.status !== 409) || i === 20) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    stats.retries++;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One run: `count` nodes on a fresh database, CHANNELS channels created, paired, messaged, then a node killed. */
async function measure(serverUrl: string, count: number): Promise<Record<string, unknown>> {
  const db = await clusterDatabase(serverUrl);
  const receiver = await startReceiver();
  let running: GatewayProcess[] = [];
  try {
    running = await startNodes(db, count);
    const urls = running.map((n) => n.url);
    await until(async () => (await call<{ nodes: Array<{ live: boolean }> }>(urls[0]!, ADMIN, 'GET', '/partner/nodes')).body.nodes.filter((n) => n.live).length === count, 'every node live', 60_000, 100);
    const stats = { retries: 0 };

    // Channels brought to AUTH: created through every node in turn, each scanned once it shows its QR.
    const t0 = Date.now();
    const channels: Channel[] = [];
    await pool(
      Array.from({ length: CHANNELS }, (_, i) => i),
      async (i) => {
        const body = {
          name: `bench-${i}`,
          engine: 'sandbox',
          sandbox: SANDBOX,
          settings: { webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'messages', method: 'post' }], mode: 'body' }] },
        };
        const ch = await retried('create', () => call<Channel>(urls[i % count]!, ADMIN, 'PUT', '/partner/channels', body), stats);
        channels.push(ch);
        // A channel rebalanced meanwhile shows a new QR on its new node: wait for it, and scan again.
        const user = { id: `4915${String(i).padStart(8, '0')}`, name: `bench ${i}` };
        for (let tries = 0; ; tries++) {
          await until(async () => (await call<{ status: { text: string } }>(urls[i % count]!, ch.token, 'GET', '/health?wakeup=false')).body.status.text === 'QR', 'QR', 120_000, 50).catch(
            async (err: unknown) => {
              const history = await db.sql('SELECT to_status, reason, node_id, epoch FROM status_history WHERE channel_id = $1 ORDER BY id', [ch.id]);
              throw new Error(`${String(err)}: ${ch.id} ${JSON.stringify((await leases(db)).get(ch.id))} ${JSON.stringify(history)}`);
            },
          );
          const scan = await call(urls[(i + 1) % count]!, ch.token, 'POST', '/sandbox/scan', { user });
          if (scan.status === 200) break;
          if (scan.status !== 409 && scan.status !== 503) throw new Error(`scan: ${scan.status} ${JSON.stringify(scan.body)}`);
          if (tries === 300) throw new Error(`scan of ${ch.id}: ${scan.status} ${JSON.stringify(scan.body)}`);
          stats.retries++;
          await new Promise((r) => setTimeout(r, 200));
        }
      },
    );
    await until(async () => (await authUnderLease(db)).size === CHANNELS, 'every channel AUTH', 600_000, 100);
    const authSeconds = (Date.now() - t0) / 1000;

    // Webhook deliveries: one inbound message per channel, posted to every node in turn.
    const t1 = Date.now();
    await pool(channels, async (ch, i) => {
      await retried('inbound', () => call(urls[i % count]!, ch.token, 'POST', '/sandbox/inbound', { from: '4915112345678', body: `bench ${i}` }), stats);
    });
    await until(() => receiver.received.length >= CHANNELS, 'every delivery', 600_000, 50);
    const deliverySeconds = (Date.now() - t1) / 1000;

    let failover: Record<string, unknown> | null = null;
    if (count > 1) {
      const victimId = `bench-${count}`;
      const before = await leases(db);
      const moved = [...before].filter(([, l]) => l.node === victimId).map(([id]) => id);
      const dbNow = async (): Promise<number> => Number((await db.sql<{ now: string }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now'))[0]!.now);
      const killedAt = Date.now();
      const killedAtDb = await dbNow();
      await running[count - 1]!.kill('SIGKILL');
      // When the dead node's last leases ran out (the database's clock): the part of the failover that is the TTL.
      const [{ last }] = (await db.sql<{ last: string }>('SELECT max(expires_at) AS last FROM channel_leases WHERE channel_id = ANY($1::text[])', [moved])) as [{ last: string }];
      // Along the way: when every moved channel had its new lease (placed), and the slowest poll (what the figure may lag by).
      let placedAt = 0;
      let slowestPoll = 0;
      await until(async () => {
        const pollAt = Date.now();
        if (!placedAt) {
          const now = await leases(db);
          if (moved.every((id) => now.has(id) && now.get(id)!.node !== victimId)) placedAt = Date.now();
        }
        const auth = await authUnderLease(db, [victimId], moved);
        slowestPoll = Math.max(slowestPoll, Date.now() - pollAt);
        return moved.every((id) => auth.has(id));
      }, 'the killed node’s channels AUTH elsewhere', 600_000, 100);
      const seconds = (Date.now() - killedAt) / 1000;
      // When the survivors made the last of them AUTH (the transition's own time, this machine's clock): the rest is the write landing and the poll.
      const [{ at }] = (await db.sql<{ at: string }>(
        `SELECT max(h.at) AS at FROM status_history h JOIN channel_leases l ON l.channel_id = h.channel_id AND l.epoch = h.epoch AND l.node_id = h.node_id
         WHERE h.channel_id = ANY($1::text[]) AND h.to_status = 'AUTH'`,
        [moved],
      )) as [{ at: string }];
      const expiredAfter = (Number(last) - killedAtDb) / 1000;
      // A channel given to another node at once has the next epoch; more means it went to a node that was not up (the dead one).
      const after = await leases(db);
      const detours = moved.filter((id) => after.get(id)!.epoch > before.get(id)!.epoch + 1).length;
      failover = {
        channels_moved: moved.length,
        kill_to_all_auth_s: seconds,
        lease_ttl_s: TTL / 1000,
        beyond_ttl_s: Number((seconds - TTL / 1000).toFixed(2)),
        kill_to_leases_expired_s: Number(expiredAfter.toFixed(2)),
        expired_to_all_auth_s: Number((seconds - expiredAfter).toFixed(2)),
        kill_to_all_placed_s: Number(((placedAt - killedAt) / 1000).toFixed(2)),
        kill_to_last_auth_transition_s: Number(((Number(at) - killedAt) / 1000).toFixed(2)),
        slowest_poll_ms: slowestPoll,
        placed_more_than_once: detours,
      };
    }
    // Nodes that stopped their engines because a renewal was overdue (a loaded machine's event loop).
    const fenced = running.reduce((n, gw) => n + gw.output().split('\n').filter((l) => l.includes('lease renewal overdue')).length, 0);
    return {
      nodes: count,
      self_fences: fenced,
      lease_warnings: running.map(leaseWarnings),
      channels: CHANNELS,
      create_to_all_auth_s: authSeconds,
      channels_to_auth_per_s: Math.round(CHANNELS / authSeconds),
      inbound_to_all_delivered_s: deliverySeconds,
      deliveries_per_s: Math.round(CHANNELS / deliverySeconds),
      retried_requests: stats.retries,
      failover,
    };
  } catch (err) {
    throw new Error(`${count} nodes: ${(err as Error).message} (lease warnings per node: ${JSON.stringify(running.map(leaseWarnings))})`);
  } finally {
    await Promise.all(running.map((n) => n.kill('SIGKILL')));
    // BENCH_NODES_LOGS=dir keeps each node's log (bench-<count>-<node>.log) to see where the time went.
    if (process.env.BENCH_NODES_LOGS) for (const [i, gw] of running.entries()) writeFileSync(join(process.env.BENCH_NODES_LOGS, `bench-${count}-${i + 1}.log`), gw.output());
    await receiver.close();
    await db.drop();
  }
}

/** A node's lease trouble from its log: self-fences, leases lost, renewals late or failed, slow lease passes, and the worst of them (ms). */
function leaseWarnings(gw: GatewayProcess): Record<string, number> {
  const out = { overdue: 0, lost: 0, renewal_late: 0, renewal_failed: 0, pass_slow: 0, max_late_ms: 0, max_took_ms: 0, max_loop_delay_ms: 0 };
  for (const line of gw.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes('lease')) continue;
    const l = JSON.parse(line) as { msg?: string; late_ms?: number; took_ms?: number; loop_delay_max_ms?: number };
    if (l.msg === 'lease renewal overdue: engines stopped') out.overdue++;
    else if (l.msg === 'leases lost: engines stopped') out.lost++;
    else if (l.msg === 'lease renewal late') out.renewal_late++;
    else if (l.msg === 'lease renewal failed') out.renewal_failed++;
    else if (l.msg === 'lease pass slow') out.pass_slow++;
    else continue;
    out.max_late_ms = Math.max(out.max_late_ms, l.late_ms ?? 0);
    out.max_took_ms = Math.max(out.max_took_ms, l.took_ms ?? 0);
    out.max_loop_delay_ms = Math.max(out.max_loop_delay_ms, l.loop_delay_max_ms ?? 0);
  }
  return out;
}

async function main(): Promise<void> {
  const server = await postgresForTests();
  if (!server) throw new Error('bench:nodes needs PostgreSQL (WAGATE_TEST_DATABASE_URL)');
  const runs: Array<Record<string, unknown>> = [];
  // BENCH_NODES_COUNTS=2 (for one): each run is printed as it ends, so a later failure keeps it.
  for (const count of (process.env.BENCH_NODES_COUNTS ?? '1,2,3').split(',').map(Number)) {
    runs.push(await measure(server.url, count));
    process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
  }
  const base = runs[0]!;
  for (const r of runs) {
    r.auth_rate_vs_1_node = Number(((r.channels_to_auth_per_s as number) / (base.channels_to_auth_per_s as number)).toFixed(2));
    r.delivery_rate_vs_1_node = Number(((r.deliveries_per_s as number) / (base.deliveries_per_s as number)).toFixed(2));
  }
  process.stdout.write(`${JSON.stringify({ bench: 'nodes', channels: CHANNELS, cores: cpus().length, lease_ttl_ms: TTL, runs }, null, 2)}\n`);
}

await main();
