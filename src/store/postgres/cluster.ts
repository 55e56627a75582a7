import type pg from 'pg';
import type { ChannelOwner, ClusterStore, Fence, HeldLease, NodeRecord, Placement } from '../cluster.js';
import { LeaseLostError } from '../errors.js';
import { CHANNEL_COLUMNS, channelFromRow, type ChannelRow } from '../rows.js';
import type { ChannelRecord } from '../types.js';
import { withTransaction } from './pool.js';

/** The database's clock in unix ms: every node compares lease times on the same clock. */
export const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** A lease a write expects to still hold, as the statements' JSON parameters carry it. */
export interface FenceRow {
  channel_id: string;
  node_id: string;
  epoch: number;
}

/** The writes that carry a fence (a write without one is refused or unfenced by the caller). */
export const fencedOnly = <W extends { channelId: string; fence?: Fence }>(writes: W[]): Array<W & { fence: Fence }> =>
  writes.filter((w): w is W & { fence: Fence } => w.fence !== undefined);

/** The fences of `writes`, as `heldLeasesSql` reads them (one JSON parameter). */
export const fenceRows = (writes: Array<{ channelId: string; fence: Fence }>): FenceRow[] =>
  writes.map((w) => ({ channel_id: w.channelId, node_id: w.fence.nodeId, epoch: w.fence.epoch }));

/**
 * The leases among `fences` (a json array of fenceRows, of the channels in the text array `ids`)
 * that still hold, each share-locked (FOR KEY SHARE): an ownership change (which locks the row
 * FOR UPDATE) waits for the writes to commit, and a write that comes after one sees the new epoch
 * and is refused. The rows are found by `ids` (the planner takes a JSON set for 100 rows, and
 * would scan every lease to join it).
 */
export const heldLeasesSql = (ids: string, fences: string): string =>
  `SELECT l.channel_id, l.node_id, l.epoch FROM channel_leases l
     JOIN json_to_recordset(${fences}) AS f(channel_id text, node_id text, epoch bigint)
       ON l.channel_id = f.channel_id AND l.node_id = f.node_id AND l.epoch = f.epoch
     WHERE l.channel_id = ANY(${ids}) AND l.expires_at > ${NOW_MS}
     ORDER BY l.channel_id FOR KEY SHARE OF l`;

/** Throws LeaseLostError for the first of `writes` whose lease is not among `held` (heldLeasesSql's rows). */
export function refuseLostLeases(writes: Array<{ channelId: string; fence: Fence }>, held: FenceRow[]): void {
  const holding = new Set(held.map((r) => `${r.channel_id} ${r.node_id} ${Number(r.epoch)}`));
  const lost = writes.find((w) => !holding.has(`${w.channelId} ${w.fence.nodeId} ${w.fence.epoch}`));
  if (lost) throw new LeaseLostError(lost.channelId, lost.fence.epoch);
}

/** The fences of owner-only writes, on the writes' own transaction, in one statement (heldLeasesSql). */
export async function assertLeases(c: pg.PoolClient, writes: Array<{ channelId: string; fence: Fence }>): Promise<void> {
  if (writes.length === 0) return;
  const { rows } = await c.query<FenceRow>(heldLeasesSql('$1::text[]', '$2::json'), [writes.map((w) => w.channelId), JSON.stringify(fenceRows(writes))]);
  refuseLostLeases(writes, rows);
}

interface LeaseRow {
  channel_id: string;
  epoch: number;
  start_pending: boolean;
}

type AssignedRow = LeaseRow & { node_id: string };

const assignment = (r: AssignedRow): Placement['assigned'][number] => ({ channelId: r.channel_id, nodeId: r.node_id, epoch: r.epoch, startPending: r.start_pending });

const held = (row: LeaseRow): HeldLease => ({ channelId: row.channel_id, epoch: row.epoch, startPending: row.start_pending });

/**
 * Nodes and leases in PostgreSQL. Its statements run on a pool of their own (`pool`), so a busy
 * store never delays them, and with a short query timeout, so a slow database is noticed. The
 * renewal has a connection of its own besides (`renewals`, one connection): it never waits for
 * a slot behind placement or an owner lookup.
 */
export class PostgresCluster implements ClusterStore {
  constructor(
    private readonly pool: () => pg.Pool,
    private readonly renewals: () => pg.Pool,
  ) {}

  async registerNode(node: { id: string; url: string; startedAt: number }): Promise<void> {
    await this.pool().query(
      `INSERT INTO nodes (id, url, started_at, heartbeat_at, state) VALUES ($1, $2, $3, ${NOW_MS}, 'up')
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, state = 'up'`,
      [node.id, node.url, node.startedAt],
    );
  }

  async listNodes(ttlMs: number): Promise<NodeRecord[]> {
    const { rows } = await this.pool().query<{ id: string; url: string; started_at: number; heartbeat_at: number; state: 'up' | 'leaving'; live: boolean; channels: number }>(
      `SELECT n.id, n.url, n.started_at, n.heartbeat_at, n.state,
         (n.state = 'up' AND n.heartbeat_at > ${NOW_MS} - $1) AS live,
         (SELECT count(*)::int FROM channel_leases l WHERE l.node_id = n.id AND l.expires_at > ${NOW_MS}) AS channels
       FROM nodes n ORDER BY n.id`,
      [ttlMs],
    );
    return rows.map((r) => ({ id: r.id, url: r.url, startedAt: r.started_at, heartbeatAt: r.heartbeat_at, state: r.state, live: r.live, channels: r.channels }));
  }

  async channelOwner(channelId: string): Promise<ChannelOwner | null> {
    return (await this.channelOwners([channelId])).get(channelId) ?? null;
  }

  async channelOwners(channelIds: string[]): Promise<Map<string, ChannelOwner>> {
    if (channelIds.length === 0) return new Map();
    const { rows } = await this.pool().query<{ channel_id: string; node_id: string; url: string; epoch: number; expires_at: number }>(
      `SELECT l.channel_id, l.node_id, n.url, l.epoch, l.expires_at FROM channel_leases l JOIN nodes n ON n.id = l.node_id
       WHERE l.channel_id = ANY($1::text[]) AND l.expires_at > ${NOW_MS}`,
      [channelIds],
    );
    return new Map(rows.map((r) => [r.channel_id, { nodeId: r.node_id, url: r.url, epoch: r.epoch, expiresAt: r.expires_at }]));
  }

  async renew(nodeId: string, ttlMs: number): Promise<number> {
    // One statement, on a connection of its own: the heartbeat, and every lease of the node that
    // has not yet expired (an expired one is lost: another node may hold it already). Both at one
    // instant: the node stops being live exactly when these leases run out, never after, so a
    // dead node's channels are never placed on it again (it would look live and least loaded).
    const { rows } = await this.renewals().query<{ leases: number }>(
      `WITH t AS MATERIALIZED (SELECT ${NOW_MS} AS now),
       beat AS (UPDATE nodes SET heartbeat_at = t.now FROM t WHERE id = $1 RETURNING id),
       renewed AS (UPDATE channel_leases l SET expires_at = t.now + $2 FROM t WHERE l.node_id = $1 AND l.expires_at > t.now RETURNING 1)
       SELECT count(*)::int AS leases FROM renewed`,
      [nodeId, ttlMs],
    );
    return rows[0]?.leases ?? 0;
  }

  async heldLeases(nodeId: string): Promise<HeldLease[]> {
    const { rows } = await this.pool().query<LeaseRow>(
      `SELECT channel_id, epoch, start_pending FROM channel_leases WHERE node_id = $1 AND expires_at > ${NOW_MS} ORDER BY channel_id`,
      [nodeId],
    );
    return rows.map(held);
  }

  async place(ttlMs: number, limit: number, first: string[] = []): Promise<Placement> {
    return withTransaction(this.pool(), async (c) => {
      // One placer at a time per schema: the others wait their turn (a pass takes milliseconds).
      await c.query(`SET LOCAL lock_timeout = '5s'`);
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('wagate.placement:' || current_schema()))`);
      // Live nodes and orphans at one instant: a node's heartbeat and leases are renewed at one
      // instant too, so the node whose leases ran out is never among the live (least-loaded!) ones.
      const { rows: nodes } = await c.query<{ id: string; load: number; now: number }>(
        `WITH t AS MATERIALIZED (SELECT ${NOW_MS} AS now)
         SELECT n.id, (SELECT count(*)::int FROM channel_leases l WHERE l.node_id = n.id AND l.expires_at > t.now) AS load, t.now
         FROM nodes n, t WHERE n.state = 'up' AND n.heartbeat_at > t.now - $1 ORDER BY n.id`,
        [ttlMs],
      );
      if (nodes.length === 0) return { assigned: [] };
      const { rows: orphans } = await c.query<{ id: string; leased: boolean }>(
        `SELECT ch.id, l.channel_id IS NOT NULL AS leased FROM channels ch LEFT JOIN channel_leases l ON l.channel_id = ch.id
         WHERE l.channel_id IS NULL OR l.node_id IS NULL OR l.expires_at <= $3
         ORDER BY ch.id = ANY($2::text[]) DESC, ch.created_at, ch.id LIMIT $1`,
        [limit, first, nodes[0]!.now],
      );
      if (orphans.length === 0) return { assigned: [] };
      // A lease row a stale owner's write still share-locks is skipped: taken on a later pass.
      const { rows: lockable } = await c.query<{ channel_id: string }>(
        'SELECT channel_id FROM channel_leases WHERE channel_id = ANY($1::text[]) ORDER BY channel_id FOR UPDATE SKIP LOCKED',
        [orphans.filter((o) => o.leased).map((o) => o.id)],
      );
      const locked = new Set(lockable.map((r) => r.channel_id));
      const free = orphans.filter((o) => !o.leased || locked.has(o.id)).map((o) => o.id);
      const owners = free.map(() => leastLoaded(nodes));
      const { rows } = await c.query<AssignedRow>(
        `INSERT INTO channel_leases (channel_id, node_id, epoch, expires_at, acquired_at, start_pending)
         SELECT t.channel_id, t.node_id, 1, ${NOW_MS} + $3, ${NOW_MS}, false
         FROM unnest($1::text[], $2::text[]) AS t(channel_id, node_id)
         ON CONFLICT (channel_id) DO UPDATE SET node_id = EXCLUDED.node_id, epoch = channel_leases.epoch + 1,
           expires_at = EXCLUDED.expires_at, acquired_at = EXCLUDED.acquired_at
         WHERE channel_leases.node_id IS NULL OR channel_leases.expires_at <= ${NOW_MS}
         RETURNING channel_id, node_id, epoch, start_pending`,
        [free, owners, ttlMs],
      );
      return { assigned: rows.map(assignment) };
    });
  }

  async handOff(nodeId: string, channelIds: string[], toNode: string, ttlMs: number): Promise<Placement> {
    if (channelIds.length === 0) return { assigned: [] };
    const { rows } = await this.pool().query<AssignedRow>(
      `WITH mine AS (SELECT channel_id FROM channel_leases WHERE node_id = $1 AND channel_id = ANY($2::text[]) AND expires_at > ${NOW_MS}
                     ORDER BY channel_id FOR UPDATE)
       UPDATE channel_leases l SET node_id = $3, epoch = l.epoch + 1, expires_at = ${NOW_MS} + $4, acquired_at = ${NOW_MS}
       FROM mine WHERE l.channel_id = mine.channel_id
       RETURNING l.channel_id, l.node_id, l.epoch, l.start_pending`,
      [nodeId, channelIds, toNode, ttlMs],
    );
    return { assigned: rows.map(assignment) };
  }

  async release(nodeId: string, channelIds?: string[]): Promise<number> {
    const { rowCount } = await this.pool().query(
      `WITH mine AS (SELECT channel_id FROM channel_leases WHERE node_id = $1 AND ($2::text[] IS NULL OR channel_id = ANY($2::text[]))
                     ORDER BY channel_id FOR UPDATE)
       UPDATE channel_leases l SET node_id = NULL, expires_at = 0 FROM mine WHERE l.channel_id = mine.channel_id`,
      [nodeId, channelIds ?? null],
    );
    return rowCount ?? 0;
  }

  async clearStartPending(channelId: string, fence: Fence): Promise<void> {
    await this.pool().query('UPDATE channel_leases SET start_pending = false WHERE channel_id = $1 AND node_id = $2 AND epoch = $3', [
      channelId,
      fence.nodeId,
      fence.epoch,
    ]);
  }

  async channelsCreatedSince(since: number): Promise<ChannelRecord[]> {
    const { rows } = await this.pool().query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE created_at >= $1 ORDER BY created_at, id`, [since]);
    return rows.map((row) => channelFromRow(row, (v) => v));
  }

  async leave(nodeId: string, remove: boolean): Promise<void> {
    if (remove) await this.pool().query('DELETE FROM nodes WHERE id = $1', [nodeId]);
    else await this.pool().query(`UPDATE nodes SET state = 'leaving' WHERE id = $1`, [nodeId]);
  }
}

/** The live node with the fewest channels (ties by id); counts the pick, so a batch spreads evenly. */
function leastLoaded(nodes: Array<{ id: string; load: number }>): string {
  let best = nodes[0]!;
  for (const n of nodes) if (n.load < best.load) best = n;
  best.load++;
  return best.id;
}
