/**
 * `npm run bench:log`: `GET /webhooks/deliveries` with each filter against a channel holding
 * 1,000,000 deliveries (bulk-filled in SQL), on SQLite and on PostgreSQL, through a real gateway.
 * Prints each filter's p50 and max over the repeats, in ms; the goal is under 50 ms each.
 */
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { fillChannels, fillDeliveries } from './fill.js';
import { percentile } from './stats.js';
import { benchStore, measureEachStore } from './stores.js';

const ROWS = Number(process.env.BENCH_LOG_ROWS ?? 1_000_000);
const REPEATS = Number(process.env.BENCH_LOG_REPEATS ?? 15);
const ADMIN = 'bench-admin-token-0123456789';
const TOKEN = 'bench-log-channel-token-0123456789';
const CHANNEL = 'LOGBENCH-00001';
const STEP_MS = 500; // one delivery every 0.5 s: 1,000,000 rows span 5.8 days, inside the 7-day retention window
const T0 = Date.now() - ROWS * STEP_MS - 60_000;
const DAY = 86_400_000;

/** The filters timed, as query strings of the gateway's route. */
function filters(): Record<string, string> {
  const end = T0 + ROWS * STEP_MS;
  const mid = T0 + Math.floor(ROWS / 2) * STEP_MS;
  return {
    none: '',
    'status=delivered': 'status=delivered',
    'status=failed': 'status=failed',
    'status=cancelled': 'status=cancelled',
    'status=pending': 'status=pending',
    'since (last hour)': `since=${end - 3_600_000}`,
    'since+until (a day in the middle)': `since=${mid}&until=${mid + DAY}`,
    'since (whole range)': `since=${T0}`,
    'status=failed+since+until': `status=failed&since=${mid}&until=${mid + DAY}`,
    'status=delivered+until (old half)': `status=delivered&until=${mid}`,
    'offset=10000': 'offset=10000',
    'offset=500000': 'offset=500000',
    'before (keyset, half-way)': `before=${Math.floor(ROWS / 2)}`,
  };
}

async function measure(kind: string): Promise<Record<string, unknown>> {
  const db = await benchStore(kind, 'wagate-bench-log-');
  const env = { WAGATE_PORT: '0', WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'error', ...db.env };
  try {
    await (await db.open()).close();
    const filling = performance.now();
    await fillChannels(db.to, [{ id: CHANNEL, token: TOKEN, createdAt: T0, status: 'NOT_INIT', settings: {} }], {});
    // The pending rows are due in a month: the dispatcher leaves them be while the log is timed.
    await fillDeliveries(db.to, { channelId: CHANNEL, rows: ROWS, from: T0, stepMs: STEP_MS, pendingEvery: 97, hook: 'http://127.0.0.1:9/hook', pendingDueAt: Date.now() + 30 * DAY });
    const fillS = (performance.now() - filling) / 1000;
    const gateway = await startGateway(loadConfig(env), { pgSchema: db.pgSchema });
    try {
      const timings: Record<string, { p50_ms: number; max_ms: number; total: number; total_capped?: boolean; count: number }> = {};
      for (const [name, query] of Object.entries(filters())) {
        const ms: number[] = [];
        let last: { total: number; total_capped?: boolean; count: number } = { total: 0, count: 0 };
        for (let i = 0; i <= REPEATS; i++) {
          const started = performance.now();
          const res = await request(`${gateway.url}/webhooks/deliveries?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
          const body = (await res.body.json()) as typeof last;
          if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode} ${JSON.stringify(body)}`);
          if (i > 0) ms.push(performance.now() - started); // the first is a warm-up
          last = body;
        }
        ms.sort((a, b) => a - b);
        timings[name] = { p50_ms: +percentile(ms, 50).toFixed(1), max_ms: +(ms.at(-1) ?? 0).toFixed(1), total: last.total, total_capped: last.total_capped, count: last.count };
      }
      return { store: kind, rows: ROWS, fill_s: +fillS.toFixed(1), filters: timings };
    } finally {
      await gateway.close();
    }
  } finally {
    await db.drop();
  }
}

measureEachStore(measure);
