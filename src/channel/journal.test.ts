import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { T0, newChannel, statusEvent } from '../store/contract/fixtures.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import { VirtualClock } from './clock.js';
import { CommitJournal } from './journal.js';

// The journal against a real SQLite store whose writes really fail (SQLITE_FULL from a size cap),
// in virtual time.

/** An event big enough to need new pages, so a capped database refuses it. */
function bigEvent(channelId: string, n: number): ReturnType<typeof statusEvent> {
  const e = statusEvent(channelId, `S${n}`, T0 + n);
  return { ...e, body: { ...e.body, padding: 'x'.repeat(20_000), n } };
}

describe('CommitJournal', () => {
  let store: SqliteStore;
  let clock: VirtualClock;
  let channelId: string;
  let faults: number;
  let committed: number[];
  let journal: CommitJournal;

  beforeEach(async () => {
    store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'wagate-journal-')), 'wagate.db'));
    await store.migrate();
    channelId = (await store.createChannel(newChannel())).id;
    clock = new VirtualClock();
    faults = 0;
    committed = [];
    journal = new CommitJournal({
      store,
      clock,
      channelId,
      onStoreFault: () => faults++,
      onCommitted: (_id, events) => committed.push(...events.map((e) => (e.body as { n: number }).n)),
    });
  });

  afterEach(async () => {
    journal.close();
    await store.close();
  });

  it('commits at once while the store works', async () => {
    const { durable } = journal.commit({ channelId, events: [bigEvent(channelId, 1)] });
    await durable;
    expect(journal.failing).toBe(false);
    expect(committed).toEqual([1]);
  });

  it('holds refused changes in order, lets their writers go on, and lands them all once the store is back', async () => {
    store.capSize(true);
    const changes = [1, 2, 3, 4].map((n) => journal.commit({ channelId, events: [bigEvent(channelId, n)] }));
    // Accepted (held in memory) although nothing is durable yet.
    await Promise.all(changes.map((c) => c.accepted));
    expect(journal.failing).toBe(true);
    let landed = 0;
    for (const c of changes) void c.durable.then(() => landed++);
    await clock.advance(5_000);
    expect(landed).toBe(0);
    expect(faults).toBeGreaterThan(3);
    expect(await store.listEvents(channelId, 0, 10)).toEqual([]);

    store.capSize(false);
    await clock.advance(2_000);
    await Promise.all(changes.map((c) => c.durable));
    expect(journal.failing).toBe(false);
    expect(committed).toEqual([1, 2, 3, 4]);
    expect((await store.listEvents(channelId, 0, 10)).map((e) => (e.body as { n: number }).n)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a change that may fail at once while the store fails, and keeps the others', async () => {
    store.capSize(true);
    const held = journal.commit({ channelId, events: [bigEvent(channelId, 1)] });
    await held.accepted;
    const mark = journal.commit({ channelId, events: [bigEvent(channelId, 2)] }, true);
    await expect(mark.accepted).rejects.toBeInstanceOf(StoreUnavailableError);
    store.capSize(false);
    await clock.advance(2_000);
    await held.durable;
    expect(committed).toEqual([1]);
  });

  it('gives up what it holds when it closes (the process is stopping)', async () => {
    store.capSize(true);
    const held = journal.commit({ channelId, events: [bigEvent(channelId, 1)] });
    await held.accepted;
    journal.close();
    await clock.advance(5_000);
    await expect(held.durable).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
