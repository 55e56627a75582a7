import pg from 'pg';
import { createDatabase } from '../support/databases.js';
import { client, until } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';
import type { Receiver } from '../support/receiver.js';

// Several gateway processes on one PostgreSQL database, and what a test reads of them from the
// database itself: leases, statuses and the node and epoch of every history row and event.

export const ADMIN = 'cluster-admin-token-0123456789abcdef';

/** Lease timings small enough for a test, with the same proportions as the defaults. */
export const TEST_TIMINGS = {
  WAGATE_LEASE_TTL_MS: '6000',
  WAGATE_LEASE_RENEW_MS: '1500',
  WAGATE_LEASE_FENCE_MS: '4500',
  WAGATE_PLACEMENT_INTERVAL_MS: '300',
  WAGATE_REBALANCE_INTERVAL_MS: '1000',
  WAGATE_REBALANCE_MOVES: '4',
};
export const TTL_MS = Number(TEST_TIMINGS.WAGATE_LEASE_TTL_MS);
export const REBALANCE_MOVES = Number(TEST_TIMINGS.WAGATE_REBALANCE_MOVES);

/** A database of its own on the test server, and a pool the test reads it with. */
export interface ClusterDb {
  url: string;
  sql<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function clusterDatabase(serverUrl: string): Promise<ClusterDb> {
  const db = await createDatabase(serverUrl, 'wagate_cluster');
  const pool = new pg.Pool({ connectionString: db.url, max: 3 });
  pool.on('error', () => undefined);
  return {
    url: db.url,
    sql: async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<T>(text, values)).rows,
    drop: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

/** Starts node `id` on `databaseUrl` (the proxy's, for a node the test can cut off). */
export function startNode(id: string, databaseUrl: string, extra: Record<string, string> = {}): Promise<GatewayProcess> {
  return startGatewayProcess({ WAGATE_DATABASE_URL: databaseUrl, WAGATE_DATA_DIR: tempDataDir(), WAGATE_NODE_ID: id, WAGATE_ADMIN_TOKEN: ADMIN, ...TEST_TIMINGS, ...extra });
}

export interface Channel {
  id: string;
  token: string;
}

const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Each channel's live lease: owner node and epoch. */
export async function leases(db: ClusterDb): Promise<Map<string, { node: string; epoch: number }>> {
  const rows = await db.sql<{ channel_id: string; node_id: string; epoch: number }>(
    `SELECT channel_id, node_id, epoch::int FROM channel_leases WHERE node_id IS NOT NULL AND expires_at > ${NOW_MS}`,
  );
  return new Map(rows.map((r) => [r.channel_id, { node: r.node_id, epoch: r.epoch }]));
}

/**
 * The channels that are AUTH under their current lease: their lease is live, on a node not in
 * `except`, and their last history row is an AUTH written under that very lease (of the
 * channels in `only`, when given).
 */
export async function authUnderLease(db: ClusterDb, except: string[] = [], only: string[] | null = null): Promise<Set<string>> {
  const rows = await db.sql<{ channel_id: string }>(
    `SELECT l.channel_id FROM channel_leases l
     JOIN LATERAL (SELECT to_status, epoch, node_id FROM status_history h WHERE h.channel_id = l.channel_id ORDER BY id DESC LIMIT 1) last ON true
     WHERE l.node_id IS NOT NULL AND l.expires_at > ${NOW_MS} AND NOT (l.node_id = ANY($1::text[]))
       AND ($2::text[] IS NULL OR l.channel_id = ANY($2::text[]))
       AND last.to_status = 'AUTH' AND last.epoch = l.epoch AND last.node_id = l.node_id`,
    [except, only],
  );
  return new Set(rows.map((r) => r.channel_id));
}

/** Creates `n` sandbox channels through `url`, pairs each on whichever node owns it, and waits for AUTH. */
export async function pairedChannels(db: ClusterDb, urls: Map<string, string>, via: string, receiver: Receiver, n: number): Promise<Channel[]> {
  const partner = client(via, ADMIN);
  const out: Channel[] = [];
  for (let i = 0; i < n; i++) {
    const res = await partner<{ id: string; token: string }>('PUT', '/partner/channels', {
      name: `node-test-${i}`,
      engine: 'sandbox',
      sandbox: { init_ms: 30, launch_ms: 60, receipt_delivered_ms: null, receipt_read_ms: null },
      settings: { callback_backoff_delay_ms: 3000, webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'channel', method: 'post' }], mode: 'body' }] },
    });
    if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    out.push({ id: res.body.id, token: res.body.token });
  }
  for (const [i, ch] of out.entries()) {
    let owner = '';
    await until(async () => {
      const lease = (await leases(db)).get(ch.id);
      if (!lease) return false;
      owner = urls.get(lease.node) ?? '';
      const health = await client(owner, ch.token)<{ status: { text: string } }>('GET', '/health?wakeup=false');
      return health.status === 200 && health.body.status.text === 'QR';
    }, `QR of ${ch.id} on its owner`, 30_000, 50);
    const scan = await client(owner, ch.token)('POST', '/sandbox/scan', { user: { id: `6137100${String(i).padStart(4, '0')}`, name: `Owner ${i}` } });
    if (scan.status !== 200) throw new Error(`scan failed: ${scan.status} ${JSON.stringify(scan.body)}`);
  }
  await until(async () => (await authUnderLease(db)).size === n, 'every channel AUTH', 60_000, 100);
  return out;
}

/** The first line of a node's JSON log with this message, parsed. */
export function logLine(gw: GatewayProcess, msg: string): Record<string, unknown> | null {
  for (const line of gw.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes(msg)) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.msg === msg) return parsed;
  }
  return null;
}

/** Every JSON log line of a node with this message. */
export function logLines(gw: GatewayProcess, msg: string): Array<Record<string, unknown>> {
  return gw
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(msg))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}
