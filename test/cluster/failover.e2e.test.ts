import { afterAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { client, until } from '../support/http.js';
import type { GatewayProcess } from '../support/process.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { authUnderLease, clusterDatabase, leases, logLine, logLines, pairedChannels, REBALANCE_MOVES, startNode, TTL_MS, type Channel, type ClusterDb } from './cluster.js';
import { expectAllDelivered, expectHistoryEqualsReceived, expectOwnershipNeverOverlapped } from './invariants.js';

// Three gateway processes on loopback over one PostgreSQL database, sandbox channels with a
// loopback receiver each. One node is killed, one is cut off from the database (a TCP proxy the
// test freezes) and comes back, and that one then leaves with SIGTERM. Throughout, at most one
// node runs a channel, nothing is lost, and the channels resume elsewhere without a new QR.
// WAGATE_TEST_CLUSTER_CHANNELS sets the size (30 in npm test; the 300 by hand).

const CHANNELS = Number(process.env.WAGATE_TEST_CLUSTER_CHANNELS ?? 30);
const pgServer = await postgresForTests();

describe.runIf(pgServer)('three nodes on one PostgreSQL database', () => {
  let db: ClusterDb | null = null;
  let proxy: TcpProxy | null = null;
  let receiver: Receiver | null = null;
  const nodes = new Map<string, GatewayProcess>();
  const urls = new Map<string, string>();
  let channels: Channel[] = [];
  /** n2's channels once placed: those it still runs at the end were never restarted by others joining or leaving. */
  let firstOnN2 = new Map<string, number>();

  afterAll(async () => {
    if (process.env.DEBUG_CLUSTER) for (const [id, gw] of nodes) (await import('node:fs')).writeFileSync(`/tmp/cluster-${id}.log`, gw.output());
    await Promise.all([...nodes.values()].map((gw) => gw.kill('SIGKILL')));
    proxy?.resume();
    await proxy?.close();
    await receiver?.close();
    if (process.env.DEBUG_CLUSTER) console.info(`kept ${db?.url}`);
    else await db?.drop();
  });

  /** The status changes under the channel's lease of `epoch`, in order. */
  const pathUnder = async (channelId: string, epoch: number): Promise<string[]> =>
    (await db!.sql<{ to_status: string }>('SELECT to_status FROM status_history WHERE channel_id = $1 AND epoch = $2 AND from_status <> to_status ORDER BY id', [channelId, epoch])).map((r) => r.to_status);

  const ownedBy = async (node: string): Promise<Map<string, number>> =>
    new Map([...(await leases(db!))].filter(([, l]) => l.node === node).map(([id, l]) => [id, l.epoch]));

  it('places new channels on the least-loaded nodes', async () => {
    db = await clusterDatabase(pgServer!.url);
    const target = new URL(pgServer!.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    receiver = await startReceiver();
    // n1 first, so the migration runs once; then the other two beside it.
    nodes.set('n1', await startNode('n1', db.url));
    const [n2, n3] = await Promise.all([startNode('n2', db.url), startNode('n3', viaProxy.toString())]);
    nodes.set('n2', n2).set('n3', n3);
    for (const [id, gw] of nodes) urls.set(id, gw.url);

    channels = await pairedChannels(db, urls, urls.get('n1')!, receiver, CHANNELS);
    const load = [...(await leases(db)).values()].reduce((m, l) => m.set(l.node, (m.get(l.node) ?? 0) + 1), new Map<string, number>());
    expect([...load.keys()].sort()).toEqual(['n1', 'n2', 'n3']);
    expect(Math.max(...load.values()) - Math.min(...load.values())).toBeLessThanOrEqual(1);
    firstOnN2 = await ownedBy('n2');
    const nodesTable = await db.sql<{ id: string; url: string }>('SELECT id, url FROM nodes ORDER BY id');
    expect(nodesTable).toEqual([...urls].map(([id, url]) => ({ id, url })));
  }, 180_000);

  it('SIGKILL: the dead node`s channels are AUTH on the survivors within the TTL + 5 s, without a new QR', async () => {
    expect(channels, 'the nodes and channels of the first step').toHaveLength(CHANNELS);
    const victims = await ownedBy('n1');
    expect(victims.size).toBeGreaterThan(0);
    const killedAt = Date.now();
    await nodes.get('n1')!.kill('SIGKILL');
    await until(async () => {
      const auth = await authUnderLease(db!, ['n1']);
      return [...victims.keys()].every((id) => auth.has(id));
    }, 'the dead node`s channels AUTH elsewhere', TTL_MS + 15_000, 100);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThanOrEqual(TTL_MS + 5000);
    const now = await leases(db!);
    for (const [id, epoch] of victims) {
      const lease = now.get(id)!;
      expect(lease.epoch).toBeGreaterThan(epoch);
      expect(await pathUnder(id, lease.epoch)).toEqual(['INIT', 'LAUNCH', 'AUTH']);
    }
    console.info(`failover: ${victims.size} channels of a killed node AUTH on the survivors ${failoverMs} ms after the kill (TTL ${TTL_MS} ms)`);
  }, 60_000);

  it('partition: the cut-off node stops its engines before another takes them, its stale writes are refused, and it rejoins', async () => {
    expect(channels, 'the nodes and channels of the first step').toHaveLength(CHANNELS);
    const n3 = nodes.get('n3')!;
    const cut = await ownedBy('n3');
    expect(cut.size).toBeGreaterThan(0);
    const [probe] = [...cut.keys()];
    const token = channels.find((c) => c.id === probe)!.token;
    proxy!.pause();
    // A drop on a channel of the cut-off node: the status change it writes cannot reach the database.
    const blip = await client(n3.url, token)('POST', '/sandbox/blip', { duration_ms: 200 });
    expect(blip.status).toBe(200);
    await until(() => logLine(n3, 'lease renewal overdue: engines stopped') !== null, 'the cut-off node to fence itself', TTL_MS + 5000, 50);
    const fencedAt = logLine(n3, 'lease renewal overdue: engines stopped')!.time as number;
    await until(async () => {
      const auth = await authUnderLease(db!, ['n3']);
      return [...cut.keys()].every((id) => auth.has(id));
    }, 'the cut-off node`s channels AUTH on n2', TTL_MS + 15_000, 100);
    // Each channel's new owner wrote its first row only after the cut-off node had stopped.
    const firstOfNew = await db!.sql<{ first: number }>(
      `SELECT min(h.at)::float8 AS first FROM status_history h JOIN channel_leases l ON l.channel_id = h.channel_id AND h.epoch = l.epoch
       WHERE h.channel_id = ANY($1::text[])`,
      [[...cut.keys()]],
    );
    expect(firstOfNew[0]!.first).toBeGreaterThan(fencedAt);

    proxy!.resume();
    await until(() => logLine(n3, 'write refused: the lease moved to another node; engine stopped') !== null, 'the stale write to be refused', 30_000, 50);
    // It rejoins as a healthy node, and channels come back to it a few at a time.
    await until(async () => (await ownedBy('n3')).size > 0, 'n3 to own channels again', 30_000, 100);
    await until(async () => (await authUnderLease(db!)).size === CHANNELS, 'every channel AUTH after the rejoin', 60_000, 100);
    const moves = logLines(nodes.get('n2')!, 'rebalance: channels handed over').map((l) => l.channels as number);
    expect(moves.length).toBeGreaterThan(0);
    expect(Math.max(...moves)).toBeLessThanOrEqual(REBALANCE_MOVES);
    expect((await db!.sql<{ live: boolean }>(`SELECT heartbeat_at > (extract(epoch from clock_timestamp()) * 1000)::bigint - $1 AS live FROM nodes WHERE id = 'n3'`, [TTL_MS]))[0]!.live).toBe(true);
  }, 120_000);

  it('SIGTERM: the leaving node hands its channels over at once', async () => {
    expect(channels, 'the nodes and channels of the first step').toHaveLength(CHANNELS);
    await until(async () => (await ownedBy('n3')).size >= 2, 'n3 to hold a few channels', 30_000, 100);
    await until(async () => (await authUnderLease(db!)).size === CHANNELS, 'every channel AUTH', 60_000, 100);
    const leaving = await ownedBy('n3');
    const stoppedAt = Date.now();
    expect(await nodes.get('n3')!.kill('SIGTERM')).toBe(0);
    await until(async () => {
      const auth = await authUnderLease(db!, ['n3']);
      return [...leaving.keys()].every((id) => auth.has(id));
    }, 'the leaving node`s channels AUTH on n2', TTL_MS, 50);
    expect(Date.now() - stoppedAt).toBeLessThan(TTL_MS);
    expect(await db!.sql(`SELECT id FROM nodes WHERE id = 'n3'`)).toEqual([]);
  }, 60_000);

  it('lost no event, delivered everything, and never ran a channel on two nodes at once', async () => {
    expect(channels, 'the nodes and channels of the first step').toHaveLength(CHANNELS);
    await expectAllDelivered(db!);
    const transitions = await expectHistoryEqualsReceived(db!, receiver!);
    const { epochs } = await expectOwnershipNeverOverlapped(db!);
    // No channel showed a QR again once it had paired.
    const qrAfterAuth = await db!.sql(
      `SELECT h.channel_id FROM status_history h WHERE h.to_status = 'QR'
       AND h.id > (SELECT min(a.id) FROM status_history a WHERE a.channel_id = h.channel_id AND a.to_status = 'AUTH')`,
    );
    expect(qrAfterAuth).toEqual([]);
    // Nodes joined and left around n2 without restarting what it ran: one run, one AUTH, epoch 1.
    const stayed = [...(await ownedBy('n2'))].filter(([id, epoch]) => firstOnN2.get(id) === epoch).map(([id]) => id);
    expect(stayed.length).toBeGreaterThan(0);
    const runs = await db!.sql<{ channel_id: string; inits: number }>(
      `SELECT channel_id, count(*)::int AS inits FROM status_history WHERE channel_id = ANY($1::text[]) AND to_status = 'INIT' AND from_status <> 'INIT' GROUP BY channel_id`,
      [stayed],
    );
    expect(runs.every((r) => r.inits === 1)).toBe(true);
    console.info(`${CHANNELS} channels: ${transitions} status changes, ${epochs} epochs, each epoch one node, none overlapping`);
  }, 180_000);
});
