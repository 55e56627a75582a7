import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../channel/clock.js';
import { newChannel, statusEvent, target } from '../store/contract/fixtures.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { createTestSchema, postgresForTests } from '../store/postgres/testing.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { DeliveryTarget, OutboundEvent, Store } from '../store/types.js';
import { Dispatcher, type DispatcherDeps } from './dispatcher.js';
import { startReceiver, type Receiver } from './receiver.fixture.js';
import { createSender, type Sender } from './sender.js';

// The dispatcher on the real stores, a real sender and a real loopback receiver.

const dir = mkdtempSync(join(tmpdir(), 'wagate-dispatcher-'));
const pgServer = await postgresForTests();
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const stores: Array<[string, (() => Promise<Store>) | null]> = [
  ['sqlite', async () => new SqliteStore(join(dir, `store-${++files}.db`))],
  [
    'postgres',
    pgServer
      ? async () => {
          const { schema, drop } = await createTestSchema(pgServer.url);
          cleanups.push(drop);
          return new PostgresStore({ connectionString: pgServer.url, schema });
        }
      : null,
  ],
];

interface Rig {
  store: Store;
  receiver: Receiver;
  sender: Sender;
  dispatcher: Dispatcher;
}

/** A migrated store, a receiver answering 200 and a dispatcher over `seam(store)`. */
async function rig(open: () => Promise<Store>, seam: (store: Store) => Store = (s) => s, deps: Partial<DispatcherDeps> = {}): Promise<Rig> {
  const store = await open();
  await store.migrate();
  const receiver = await startReceiver();
  // A long budget: under a loaded machine a timed-out attempt is retried (at least once), which
  // these tests would mistake for a relaunch.
  const sender = createSender({ guard: { allowPrivate: true }, timeoutMs: 60_000 });
  const dispatcher = new Dispatcher({
    store: seam(store),
    clock: systemClock,
    sender,
    alert: async () => undefined,
    disableWebhook: async () => undefined,
    ...deps,
  });
  cleanups.push(async () => {
    await dispatcher.stop();
    await sender.close();
    await receiver.close();
    await store.close();
  });
  return { store, receiver, sender, dispatcher };
}

/** `channels` channels, each with `perChannel` events to one ordered webhook at the receiver. */
async function backlog(store: Store, receiver: Receiver, channels: number, perChannel: number): Promise<number> {
  const hook: DeliveryTarget = target(`${receiver.origin}/hook`, { secret: null, headers: {} });
  for (let c = 0; c < channels; c++) {
    const { id } = await store.createChannel(newChannel());
    const now = Date.now();
    const events: OutboundEvent[] = Array.from({ length: perChannel }, (_, i) => ({ ...statusEvent(id, `S${i}`, now), targets: [hook] }));
    await store.commitChange({ channelId: id, events });
  }
  return channels * perChannel;
}

/** Waits until nothing is pending in the store. */
async function drained(store: Store, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await store.outboxDepth()).pending > 0) {
    if (Date.now() > deadline) throw new Error(`still ${(await store.outboxDepth()).pending} pending`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** How many webhook-ids the receiver saw more than once. */
function duplicates(receiver: Receiver): number {
  const seen = new Map<string, number>();
  for (const r of receiver.received) seen.set(String(r.headers['webhook-id']), (seen.get(String(r.headers['webhook-id'])) ?? 0) + 1);
  return [...seen.values()].filter((n) => n > 1).length;
}

/**
 * A store whose due query answers late: it reads, then holds its answer until an outcome has
 * been recorded after the read, as a slow query on PostgreSQL does while attempts finish.
 */
function staleDueReads(store: Store): Store {
  let recorded = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'recordAttempts') {
        return async (...args: Parameters<Store['recordAttempts']>) => {
          await target.recordAttempts(...args);
          recorded += 1;
        };
      }
      if (prop === 'claimDeliveries') {
        return async (...args: Parameters<Store['claimDeliveries']>) => {
          const before = recorded;
          const due = await target.claimDeliveries(...args);
          const deadline = Date.now() + 200;
          while (recorded === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
          return due;
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A store whose outcome writes wait until `open()` is called, as a slow commit does. */
function heldOutcomes(): { seam: (store: Store) => Store; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const seam = (store: Store): Store =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'recordAttempts') {
          return async (...args: Parameters<Store['recordAttempts']>) => {
            await opened;
            await target.recordAttempts(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return { seam, open };
}

/** Waits until `ok()` holds, or fails saying what it waited for. */
async function until(ok: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A store that counts the reads the dispatcher makes of it. */
function countingReads(counts: Map<string, number>): (store: Store) => Store {
  return (store) =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          counts.set(String(prop), (counts.get(String(prop)) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

for (const [kind, open] of stores) {
  describe.skipIf(!open)(`Dispatcher on ${kind}`, () => {
    it('sends what is committed while it runs from the hand-over, reading each queue only once', async () => {
      const counts = new Map<string, number>();
      const { store, receiver, dispatcher } = await rig(open!, countingReads(counts));
      dispatcher.start();
      const hook: DeliveryTarget = target(`${receiver.origin}/hook`, { secret: null, headers: {} });
      const channels = await Promise.all(Array.from({ length: 5 }, () => store.createChannel(newChannel())));
      // Twenty changes per channel, each committed once the one before has landed.
      await Promise.all(
        channels.map(async ({ id }) => {
          for (let i = 0; i < 20; i++) await store.commitChange({ channelId: id, events: [{ ...statusEvent(id, `S${i}`, Date.now()), targets: [hook] }] });
        }),
      );
      await drained(store);
      expect(receiver.received).toHaveLength(100);
      expect(duplicates(receiver)).toBe(0);
      for (const { id } of channels) {
        const seqs = receiver.received.filter((r) => r.body.includes(`"${id}"`)).map((r) => Number(String(r.headers['webhook-id']).slice(4)));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      // One read per queue when its first row arrives (and the scan at start), not one per event.
      expect(counts.get('claimQueues') ?? 0).toBeLessThanOrEqual(channels.length);
      expect(counts.get('claimDeliveries') ?? 0).toBeLessThanOrEqual(3);
    });

    it('never relaunches a delivery whose outcome was recorded while the due query ran', async () => {
      const { store, receiver, dispatcher } = await rig(open!, staleDueReads);
      const total = await backlog(store, receiver, 20, 10);
      dispatcher.start();
      await drained(store);
      const { deliveries } = await store.listDeliveries({}, { count: total, offset: 0 });
      expect(deliveries.filter((d) => d.attempts !== 1).map((d) => [d.id, d.attempts])).toEqual([]);
      expect(duplicates(receiver)).toBe(0);
      expect(receiver.received).toHaveLength(total);
    });

    it('delivers a backlog over many queues exactly once each when every receiver answers', async () => {
      const { store, receiver, dispatcher } = await rig(open!);
      const total = await backlog(store, receiver, 60, 15);
      dispatcher.start();
      await drained(store, 60_000);
      const { deliveries } = await store.listDeliveries({}, { count: total, offset: 0 });
      expect(deliveries.filter((d) => d.attempts !== 1).map((d) => [d.id, d.attempts, d.lastError])).toEqual([]);
      expect(duplicates(receiver)).toBe(0);
      expect(receiver.received).toHaveLength(total);
    });

    it('frees a request slot once the answer is in, while its queue waits for the outcome to be written', async () => {
      const held = heldOutcomes();
      // One request at a time: the second queue's head can only go while the first's outcome is written.
      const { store, receiver, dispatcher } = await rig(open!, held.seam, { concurrency: 1 });
      cleanups.push(async () => held.open()); // runs first: the dispatcher's stop waits for the outcomes
      const total = await backlog(store, receiver, 2, 2);
      dispatcher.start();
      await until(() => receiver.received.length >= 2, 'both queues\' heads sent while the first outcome is being written');
      // Each queue sent its head only: its next row waits for the head's outcome.
      expect(receiver.received.map((r) => JSON.parse(r.body).health.status.text).sort()).toEqual(['S0', 'S0']);
      expect(dispatcher.active).toBe(2);
      held.open();
      await drained(store);
      expect(receiver.received).toHaveLength(total);
      expect(duplicates(receiver)).toBe(0);
    });

    it('cancels, without sending, a due delivery whose route says its webhook is gone', async () => {
      const gone = new Set<number>();
      const { store, receiver, dispatcher } = await rig(open!, undefined, { route: (d) => (gone.has(d.eventSeq % 2) ? { cancelled: 'cancelled: removed' } : d.target) });
      gone.add(0);
      const total = await backlog(store, receiver, 4, 5);
      dispatcher.start();
      await drained(store);
      const { deliveries } = await store.listDeliveries({}, { count: total, offset: 0 });
      const cancelled = deliveries.filter((d) => d.status === 'cancelled');
      expect(cancelled.map((d) => d.eventSeq % 2)).toEqual(cancelled.map(() => 0));
      expect(cancelled.every((d) => d.attempts === 0 && d.lastError === 'cancelled: removed')).toBe(true);
      expect(receiver.received).toHaveLength(total - cancelled.length);
      expect(receiver.received.every((r) => Number(String(r.headers['webhook-id']).slice(4)) % 2 === 1)).toBe(true);
    });
  });
}
