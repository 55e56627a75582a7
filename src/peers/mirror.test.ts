import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { newChannel } from '../store/contract/fixtures.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { createTestSchema, postgresForTests } from '../store/postgres/testing.js';
import type { ChannelRecord } from '../store/types.js';
import { ChannelMirror, type MirrorTarget } from './mirror.js';

// Two nodes' mirrors on one PostgreSQL schema: what one announces, the other reads again.

const pgServer = await postgresForTests();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

/** A node's view of the channels: every channel known, none run here. */
class View implements MirrorTarget {
  readonly channels = new Map<string, ChannelRecord>();
  track(record: ChannelRecord): void {
    this.channels.set(record.id, record);
  }
  untrack(channelId: string): void {
    this.channels.delete(channelId);
  }
  known(): Iterable<string> {
    return this.channels.keys();
  }
  runsHere(): boolean {
    return false;
  }
  record(channelId: string): ChannelRecord | undefined {
    return this.channels.get(channelId);
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!pgServer)('ChannelMirror (PostgreSQL)', () => {
  async function twoNodes(channels: number) {
    const { schema, drop } = await createTestSchema(pgServer!.url);
    const store = new PostgresStore({ connectionString: pgServer!.url, schema });
    await store.migrate();
    const ids: string[] = [];
    for (let i = 0; i < channels; i++) ids.push((await store.createChannel(newChannel())).id);
    const reads = { all: 0, one: [] as string[] };
    const view = new View();
    const mirror = (nodeId: string, target: MirrorTarget, counted: boolean) =>
      new ChannelMirror({
        connectionString: pgServer!.url,
        schema,
        nodeId,
        target,
        allChannels: () => {
          if (counted) reads.all++;
          return store.allChannels();
        },
        channel: (id) => {
          if (counted) reads.one.push(id);
          return store.getChannel(id);
        },
        signals: new EventEmitter(),
        refreshMs: 20,
        fullSyncMs: 60_000,
        onError: (err) => {
          throw err;
        },
      });
    const a = mirror('node-a', new View(), false);
    const b = mirror('node-b', view, true);
    await a.start();
    await b.start();
    cleanups.push(async () => {
      await a.stop();
      await b.stop();
      await store.close();
      await drop();
    });
    // The first refresh reads every channel (what was announced before it listened is unknown).
    await until('the first read of every channel', () => view.channels.size === channels);
    return { store, ids, reads, view, a };
  }

  it('re-reads only the channel a notification names, not every channel', async () => {
    const { store, ids, reads, view, a } = await twoNodes(20);
    const id = ids[5]!;
    await store.updateChannel(id, { name: 'renamed' });
    a.publish('c', id);
    await until('the renamed channel', () => view.record(id)?.name === 'renamed');
    expect(reads.all).toBe(1);
    expect(reads.one).toEqual([id]);
  });

  it('sends announcements made while earlier ones are still going out after them, never two queries at once on its client', async () => {
    const { ids, reads, view, a } = await twoNodes(40);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      // Announcements in many turns of the loop: each turn's flush starts while the last one still awaits PostgreSQL.
      for (const id of ids) {
        a.publish('c', id);
        await new Promise((r) => setImmediate(r));
      }
      await until('every announced channel re-read', () => new Set(reads.one).size === ids.length);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('already executing a query'))).toEqual([]);
    expect(view.channels.size).toBe(ids.length);
  });

  it('forgets a channel deleted on another node once a second read finds it gone too', async () => {
    const { store, ids, reads, view, a } = await twoNodes(5);
    const id = ids[2]!;
    await store.deleteChannel(id);
    a.publish('r', id);
    await until('the deleted channel forgotten', () => !view.channels.has(id));
    expect(reads.all).toBe(1);
    expect(reads.one).toEqual([id, id]);
    expect(view.channels.size).toBe(4);
  });
});
