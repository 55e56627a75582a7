import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../channel/clock.js';
import { newChannel, statusEvent, target } from '../store/contract/fixtures.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { createTestSchema, postgresForTests } from '../store/postgres/testing.js';
import type { OutboundEvent, Store } from '../store/types.js';
import { Dispatcher } from './dispatcher.js';
import { startReceiver, type ReceivedRequest, type Receiver } from './receiver.fixture.js';
import { createSender, type Sender } from './sender.js';

// Several gateway nodes on one PostgreSQL database, each with its own store (pool) and its own
// dispatcher, draining one outbox: each sends only the queues it holds a claim on.

const pgServer = await postgresForTests();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

const TTL_MS = 2_000;

interface Node {
  name: string;
  store: Store;
  dispatcher: Dispatcher;
}

/** A node: its own store on `schema`, a sender that marks what it sends with `x-node`, a dispatcher claiming as `name`. */
async function node(schema: string, name: string): Promise<Node> {
  const store = new PostgresStore({ connectionString: pgServer!.url, schema });
  await store.migrate();
  const sender = createSender({ guard: { allowPrivate: true }, timeoutMs: 60_000 });
  const marked: Sender = { send: (a) => sender.send({ ...a, headers: { ...a.headers, 'x-node': name } }), close: () => sender.close() };
  const dispatcher = new Dispatcher({
    store,
    clock: systemClock,
    sender: marked,
    alert: async () => undefined,
    disableWebhook: async () => undefined,
    concurrency: 8,
    idleMs: 200,
    claims: { node: name, ttlMs: TTL_MS },
  });
  cleanups.push(async () => {
    await dispatcher.stop();
    await sender.close();
    await store.close();
  });
  return { name, store, dispatcher };
}

/** `channels` channels with `perChannel` events each to one ordered webhook; answers the queue of each webhook-id. */
async function backlog(store: Store, receiver: Receiver, channels: number, perChannel: number): Promise<Map<string, string>> {
  const queueOf = new Map<string, string>();
  const hook = target(`${receiver.origin}/hook`, { secret: null, headers: {} });
  for (let c = 0; c < channels; c++) {
    const { id } = await store.createChannel(newChannel());
    const now = Date.now();
    const events: OutboundEvent[] = Array.from({ length: perChannel }, (_, i) => ({ ...statusEvent(id, `S${i}`, now), targets: [hook] }));
    await store.commitChange({ channelId: id, events });
  }
  const { deliveries } = await store.listDeliveries({}, { count: channels * perChannel, offset: 0 });
  for (const d of deliveries) queueOf.set(`msg_${d.eventSeq}`, d.queueKey);
  return queueOf;
}

async function drained(store: Store, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await store.outboxDepth()).pending > 0) {
    if (Date.now() > deadline) throw new Error(`still ${(await store.outboxDepth()).pending} pending`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The queues `node` holds claims on in `schema`, with when each claim expires. */
async function claimsOf(schema: string, nodeId: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: pgServer!.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ queue_key: string; expires_at: string }>(
      `SELECT queue_key, expires_at FROM ${schema}.delivery_claims WHERE node_id = $1`,
      [nodeId],
    );
    return new Map(rows.map((r) => [r.queue_key, Number(r.expires_at)]));
  } finally {
    await client.end();
  }
}

const idOf = (r: ReceivedRequest): string => String(r.headers['webhook-id']);
const seqOf = (r: ReceivedRequest): number => Number(idOf(r).slice(4));

/** Per queue, the seqs in the order they first arrived. */
function firstArrivalsByQueue(received: ReceivedRequest[], queueOf: Map<string, string>): Map<string, number[]> {
  const seen = new Set<string>();
  const byQueue = new Map<string, number[]>();
  for (const r of received) {
    if (seen.has(idOf(r))) continue;
    seen.add(idOf(r));
    const key = queueOf.get(idOf(r))!;
    byQueue.set(key, [...(byQueue.get(key) ?? []), seqOf(r)]);
  }
  return byQueue;
}

describe.skipIf(!pgServer)('webhooks across nodes (PostgreSQL)', () => {
  it('drains one backlog from two nodes: every delivery sent once, each queue in order', async () => {
    const { schema, drop } = await createTestSchema(pgServer!.url);
    cleanups.push(drop);
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const a = await node(schema, 'node-a');
    const b = await node(schema, 'node-b');
    const queueOf = await backlog(a.store, receiver, 40, 10);
    a.dispatcher.start();
    b.dispatcher.start();
    await drained(a.store, 60_000);

    const counts = new Map<string, number>();
    for (const r of receiver.received) counts.set(idOf(r), (counts.get(idOf(r)) ?? 0) + 1);
    expect(counts.size).toBe(400);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const seqs of firstArrivalsByQueue(receiver.received, queueOf).values()) expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // Which node sent what depends on timing (a fast node may claim every queue first): every
    // sender is one of the two nodes; the next test shows a second node taking queues over.
    const byNode = new Set(receiver.received.map((r) => String(r.headers['x-node'])));
    expect([...byNode].filter((n) => n !== 'node-a' && n !== 'node-b')).toEqual([]);
    const { deliveries } = await a.store.listDeliveries({}, { count: 400, offset: 0 });
    expect(deliveries.filter((d) => d.attempts !== 1 || d.status !== 'delivered')).toEqual([]);
  });

  it("lets a node that died keep its queues until its claims expire, then another node finishes them in order", async () => {
    const { schema, drop } = await createTestSchema(pgServer!.url);
    cleanups.push(drop);
    // A receiver slow enough that the backlog is still being sent when the first node dies.
    const arrived = new Map<ReceivedRequest, number>();
    const receiver = await startReceiver((req, res) => {
      arrived.set(req, Date.now());
      setTimeout(() => res.end('ok'), 5);
    });
    cleanups.push(() => receiver.close());
    const a = await node(schema, 'node-a');
    const queueOf = await backlog(a.store, receiver, 40, 10);
    a.dispatcher.start();
    const deadline = Date.now() + 20_000;
    while (receiver.received.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    a.dispatcher.abandon();
    // What it held at its death, as the database records it: those queues stay its until they expire.
    const claims = await claimsOf(schema, 'node-a');
    expect(claims.size).toBeGreaterThan(0);
    const b = await node(schema, 'node-b');
    b.dispatcher.start();
    await drained(b.store, 30_000);

    const fromB = receiver.received.filter((r) => r.headers['x-node'] === 'node-b');
    expect(fromB.length).toBeGreaterThan(0);
    // Every delivery arrived; each queue's first arrivals are in event order across the two nodes.
    expect(new Set(receiver.received.map(idOf)).size).toBe(400);
    for (const seqs of firstArrivalsByQueue(receiver.received, queueOf).values()) expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // At least once: only what the dead node had in flight (one per queue it held) may come twice.
    const twice = [...new Set(fromB.map(idOf))].filter((id) => receiver.received.filter((r) => idOf(r) === id).length > 1);
    expect(twice.length).toBeLessThanOrEqual(8);
    // No attempt of a dead node's queue before its claim ran out: never two nodes on one queue.
    const early = fromB.filter((r) => {
      const expiry = claims.get(queueOf.get(idOf(r))!);
      return expiry !== undefined && arrived.get(r)! < expiry;
    });
    expect(early.map(idOf)).toEqual([]);
    expect(fromB.some((r) => claims.has(queueOf.get(idOf(r))!))).toBe(true);
    const { deliveries } = await b.store.listDeliveries({}, { count: 400, offset: 0 });
    expect(deliveries.filter((d) => d.status !== 'delivered')).toEqual([]);
  });
});
