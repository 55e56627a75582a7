import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../errors.js';
import { historyEntry, newChannel, statusEvent, target } from '../contract/fixtures.js';
import { PostgresStore } from './postgres-store.js';
import { createTestSchema, postgresForTests, type TestSchema } from './testing.js';

const server = await postgresForTests();
const TTL = 60_000;

describe.runIf(server)('PostgreSQL nodes and leases', () => {
  const url = server?.url ?? '';
  let schema: TestSchema;
  let store: PostgresStore;
  const dropped: TestSchema[] = [];
  afterAll(async () => {
    await Promise.all(dropped.map((s) => s.drop()));
  });
  beforeEach(async () => {
    schema = await createTestSchema(url);
    dropped.push(schema);
    store = new PostgresStore({ connectionString: url, schema: schema.schema });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  /** Runs SQL as the test, outside the store (to age a lease or read what was recorded). */
  const sql = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`SET search_path = ${schema.schema}`);
      return (await c.query<T>(text, values)).rows;
    } finally {
      await c.end();
    }
  };

  const channels = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await store.createChannel(newChannel())).id);
    return ids;
  };

  it('places channels on the least-loaded live nodes and names the owner', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'http://127.0.0.1:1', startedAt: 1 });
    await store.cluster.registerNode({ id: 'b', url: 'http://127.0.0.1:2', startedAt: 2 });
    const ids = await channels(5);
    const { assigned } = await store.cluster.place(TTL, 100);
    expect(assigned).toHaveLength(5);
    expect(assigned.filter((a) => a.nodeId === 'a')).toHaveLength(3);
    expect(assigned.filter((a) => a.nodeId === 'b')).toHaveLength(2);
    expect(assigned.every((a) => a.epoch === 1)).toBe(true);
    const owner = await store.cluster.channelOwner(ids[1]!);
    expect(owner).toMatchObject({ nodeId: assigned.find((a) => a.channelId === ids[1])!.nodeId, epoch: 1 });
    expect(owner?.url).toMatch(/^http:\/\/127\.0\.0\.1:[12]$/);
    const nodes = await store.cluster.listNodes(TTL);
    expect(nodes.map((n) => [n.id, n.live, n.channels])).toEqual([
      ['a', true, 3],
      ['b', true, 2],
    ]);
    // A second pass has nothing to place.
    expect((await store.cluster.place(TTL, 100)).assigned).toEqual([]);
  });

  it('renews all of a node`s leases in one statement and loses an expired one', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const [x, y] = await channels(2);
    await store.cluster.place(TTL, 100);
    await sql('UPDATE channel_leases SET expires_at = 0 WHERE channel_id = $1', [y]);
    expect(await store.cluster.renew('a', TTL)).toBe(1);
    expect((await store.cluster.heldLeases('a')).map((h) => h.channelId)).toEqual([x]);
    // The heartbeat and the leases at one instant: the node is no longer live exactly when they run out.
    const [beat] = await sql<{ heartbeat_at: string }>(`SELECT heartbeat_at FROM nodes WHERE id = 'a'`);
    const [lease] = await sql<{ expires_at: string }>('SELECT expires_at FROM channel_leases WHERE channel_id = $1', [x]);
    expect(Number(lease!.expires_at) - Number(beat!.heartbeat_at)).toBe(TTL);
    expect(await store.cluster.channelOwner(y!)).toBeNull();
  });

  it('gives an expired lease to a live node with a higher epoch; the old owner`s writes are refused', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const [ch] = await channels(1);
    await store.cluster.place(TTL, 100);
    const old = { nodeId: 'a', epoch: 1 };
    await store.commitChange({ channelId: ch!, history: [historyEntry(10, 'NOT_INIT', 'INIT')], events: [statusEvent(ch!, 'INIT', 10)], fence: old });
    // Node a goes silent: its heartbeat and lease age past the TTL; b takes the channel.
    await sql(`UPDATE nodes SET heartbeat_at = 0 WHERE id = 'a'`);
    await sql('UPDATE channel_leases SET expires_at = 0');
    await store.cluster.registerNode({ id: 'b', url: 'u', startedAt: 2 });
    const { assigned } = await store.cluster.place(TTL, 100);
    expect(assigned).toEqual([{ channelId: ch, nodeId: 'b', epoch: 2, startPending: false }]);

    const stale = store.commitChange({ channelId: ch!, history: [historyEntry(20, 'INIT', 'LAUNCH')], fence: old });
    await expect(stale).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.setCredentials(ch!, { creds: 'x' }, old)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.wipeCredentials(ch!, old)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.getCredentials(ch!, ['creds'])).toEqual({});
    await store.commitChange({ channelId: ch!, history: [historyEntry(30, 'INIT', 'LAUNCH')], fence: { nodeId: 'b', epoch: 2 } });
    await store.setCredentials(ch!, { creds: 'y' }, { nodeId: 'b', epoch: 2 });

    // Every row records the node and epoch that wrote it; the refused write left nothing.
    const history = await sql<{ to_status: string; node_id: string; epoch: number }>('SELECT to_status, node_id, epoch::int FROM status_history ORDER BY id');
    expect(history).toEqual([
      { to_status: 'INIT', node_id: 'a', epoch: 1 },
      { to_status: 'LAUNCH', node_id: 'b', epoch: 2 },
    ]);
    expect(await sql('SELECT node_id, epoch::int FROM events')).toEqual([{ node_id: 'a', epoch: 1 }]);
  });

  it('refuses a write under a lease that expired even before anyone took it', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const [ch] = await channels(1);
    await store.cluster.place(TTL, 100);
    await sql('UPDATE channel_leases SET expires_at = 0');
    await expect(store.commitChange({ channelId: ch!, history: [historyEntry(1, 'NOT_INIT', 'INIT')], fence: { nodeId: 'a', epoch: 1 } })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('refuses only the change whose lease is lost among changes made at once; it leaves no row', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const ids = await channels(3);
    await store.cluster.place(TTL, 100);
    const [x, y, z] = ids as [string, string, string];
    await sql('UPDATE channel_leases SET expires_at = 0 WHERE channel_id = $1', [y]);
    const fence = { nodeId: 'a', epoch: 1 };
    const hook = target('http://127.0.0.1:1/hook');
    const results = await Promise.allSettled(
      ids.map((id) => store.commitChange({ channelId: id, changeId: `${id}-1`, history: [historyEntry(5, 'INIT', 'LAUNCH')], events: [{ ...statusEvent(id, 'LAUNCH', 5), targets: [hook] }], fence })),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: expect.any(LeaseLostError) });
    for (const table of ['status_history', 'events', 'deliveries']) {
      const rows = await sql<{ channel_id: string }>(`SELECT channel_id FROM ${table} ORDER BY channel_id`);
      expect(rows.map((r) => r.channel_id), table).toEqual([x, z].sort());
    }
    expect(await store.lastChangeId(y)).toBeNull();
    expect(await store.lastChangeId(x)).toBe(`${x}-1`);
  });

  it('refuses a change with messages under a lost lease, writing none of them', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const [ch] = await channels(1);
    await store.cluster.place(TTL, 100);
    await sql('UPDATE channel_leases SET expires_at = 0');
    const message = { id: 'm1', chatId: '1@s.whatsapp.net', fromMe: true, timestamp: 1, message: { id: 'm1' } };
    const change = { channelId: ch!, messages: [message], events: [statusEvent(ch!, 'message', 1)], fence: { nodeId: 'a', epoch: 1 } };
    await expect(store.commitChange(change)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.getMessage(ch!, 'm1')).toBeNull();
    expect(await sql('SELECT seq FROM events')).toEqual([]);
  });

  it('on a node`s store, refuses an owner-only write without a fence', async () => {
    const [ch] = await channels(1);
    store.requireFences();
    await expect(store.commitChange({ channelId: ch!, history: [historyEntry(1, 'NOT_INIT', 'INIT')] })).rejects.toThrow(/without a lease/);
    await expect(store.setCredentials(ch!, { k: 'v' })).rejects.toThrow(/without a lease/);
  });

  it('hands leases over with a new epoch, releases them, and leaves', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const ids: string[] = [(await store.createChannel(newChannel({ startOnPlacement: true }))).id, ...(await channels(2))];
    await store.cluster.place(TTL, 100);
    expect((await store.cluster.heldLeases('a')).find((l) => l.channelId === ids[0])?.startPending).toBe(true);
    await store.cluster.clearStartPending(ids[0]!, { nodeId: 'a', epoch: 1 });
    await store.cluster.registerNode({ id: 'b', url: 'u', startedAt: 2 });
    const moved = await store.cluster.handOff('a', [ids[0]!, ids[1]!], 'b', TTL);
    expect(moved.assigned.sort((p, q) => p.channelId.localeCompare(q.channelId))).toEqual([
      { channelId: ids[0], nodeId: 'b', epoch: 2, startPending: false },
      { channelId: ids[1], nodeId: 'b', epoch: 2, startPending: false },
    ]);
    expect((await store.cluster.heldLeases('b')).map((l) => [l.channelId, l.startPending])).toEqual([
      [ids[0], false],
      [ids[1], false],
    ]);
    // A handoff of a lease the node does not hold moves nothing.
    expect((await store.cluster.handOff('a', [ids[0]!], 'a', TTL)).assigned).toEqual([]);
    await store.cluster.leave('b', false);
    expect(await store.cluster.release('b')).toBe(2);
    const again = await store.cluster.place(TTL, 100);
    expect(again.assigned.map((p) => [p.nodeId, p.epoch])).toEqual([
      ['a', 3],
      ['a', 3],
    ]);
    await store.cluster.leave('b', true);
    expect((await store.cluster.listNodes(TTL)).map((n) => n.id)).toEqual(['a']);
  });

  it('deleting a channel takes its lease along', async () => {
    await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
    const [ch] = await channels(1);
    await store.cluster.place(TTL, 100);
    await store.deleteChannel(ch!);
    expect(await sql('SELECT * FROM channel_leases')).toEqual([]);
  });
});

describe.runIf(server)('a channel journal on a node', () => {
  it('writes under its lease; once the lease moves, refuses the change and all held after it, never retrying', async () => {
    const { CommitJournal } = await import('../../channel/journal.js');
    const { VirtualClock } = await import('../../channel/clock.js');
    const schema = await createTestSchema(server!.url);
    const store = new PostgresStore({ connectionString: server!.url, schema: schema.schema });
    try {
      await store.migrate();
      await store.cluster.registerNode({ id: 'a', url: 'u', startedAt: 1 });
      const ch = (await store.createChannel(newChannel())).id;
      await store.cluster.place(TTL, 10);
      const lost: string[] = [];
      const journal = new CommitJournal({ store, clock: new VirtualClock(), channelId: ch, fence: { nodeId: 'a', epoch: 1 }, onLeaseLost: (id) => lost.push(id) });
      await journal.commit({ channelId: ch, history: [historyEntry(1, 'NOT_INIT', 'INIT')] }).durable;
      await store.cluster.registerNode({ id: 'b', url: 'u', startedAt: 2 });
      await store.cluster.handOff('a', [ch], 'b', TTL);
      const first = journal.commit({ channelId: ch, history: [historyEntry(2, 'INIT', 'LAUNCH')] });
      const second = journal.commit({ channelId: ch, history: [historyEntry(3, 'LAUNCH', 'QR')] });
      await expect(first.accepted).rejects.toBeInstanceOf(LeaseLostError);
      await expect(second.accepted).rejects.toBeInstanceOf(LeaseLostError);
      await expect(first.durable).rejects.toBeInstanceOf(LeaseLostError);
      await expect(second.durable).rejects.toBeInstanceOf(LeaseLostError);
      await expect(journal.commit({ channelId: ch, history: [historyEntry(4, 'QR', 'AUTH')] }).accepted).rejects.toBeInstanceOf(LeaseLostError);
      expect(lost).toEqual([ch]);
      expect((await store.listHistory(ch, { count: 10, offset: 0 })).history.map((h) => h.to)).toEqual(['INIT']);
    } finally {
      await store.close();
      await schema.drop();
    }
  });
});
