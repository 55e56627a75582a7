import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { MediaRecord } from '../media.js';
import type { Store } from '../types.js';
import { T0, newChannel } from './fixtures.js';

function file(channelId: string, id: string, createdAt: number, bytes: Buffer, over: Partial<MediaRecord> = {}): MediaRecord {
  return { id, channelId, mimeType: 'image/jpeg', fileSize: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), fileName: null, createdAt, ...over };
}

/** Media files: bytes kept exactly, listed, deleted, pruned, and gone with their channel. */
export function mediaContract(store: () => Store): void {
  it('keeps the bytes exactly, every byte value included, beside their metadata', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
    const record = file(a.id, 'jpg-00aa', T0, bytes, { fileName: 'photo "1".jpg' });
    await store().media.putMedia(record, bytes);
    expect(await store().media.getMedia(a.id, 'jpg-00aa')).toStrictEqual(record);
    expect((await store().media.readMedia(a.id, 'jpg-00aa'))?.equals(bytes)).toBe(true);
    expect(await store().media.getMedia(b.id, 'jpg-00aa')).toBeNull();
    expect(await store().media.readMedia(b.id, 'jpg-00aa')).toBeNull();
    expect(await store().media.readMedia(a.id, 'jpg-00bb')).toBeNull();
  });

  it('lists newest first (oldest with asc), filtered by time and paged', async () => {
    const a = await store().createChannel(newChannel());
    for (const [id, at] of [['f-02', T0 + 2000], ['f-01', T0 + 1000], ['f-03', T0 + 3000]] as const) {
      await store().media.putMedia(file(a.id, id, at, Buffer.from(id)), Buffer.from(id));
    }
    const ids = async (filter = {}, page = { count: 10, offset: 0 }) => (await store().media.listMedia(a.id, filter, page)).media.map((m) => m.id);
    expect(await ids()).toEqual(['f-03', 'f-02', 'f-01']);
    expect(await ids({ sort: 'asc' })).toEqual(['f-01', 'f-02', 'f-03']);
    expect(await ids({ timeFrom: T0 + 2000 })).toEqual(['f-03', 'f-02']);
    expect(await ids({ timeTo: T0 + 2000 })).toEqual(['f-02', 'f-01']);
    expect(await ids({}, { count: 1, offset: 1 })).toEqual(['f-02']);
    expect((await store().media.listMedia(a.id, { timeFrom: T0 + 1500 }, { count: 1, offset: 0 })).total).toBe(2);
  });

  it('deletes one file, prunes the oldest in batches, and drops files with their channel', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    for (let i = 0; i < 5; i++) await store().media.putMedia(file(a.id, `p-0${i}`, T0 + i, Buffer.from([i])), Buffer.from([i]));
    await store().media.putMedia(file(b.id, 'q-01', T0 + 100, Buffer.from('b')), Buffer.from('b'));
    expect(await store().media.deleteMedia(a.id, 'p-04')).toBe(true);
    expect(await store().media.deleteMedia(a.id, 'p-04')).toBe(false);
    expect(await store().media.deleteMedia(b.id, 'p-03')).toBe(false);
    expect(await store().media.pruneMedia(T0 + 3, 2)).toBe(2);
    expect((await store().media.listMedia(a.id, {}, { count: 10, offset: 0 })).media.map((m) => m.id)).toEqual(['p-03', 'p-02']);
    expect(await store().media.pruneMedia(T0 + 3, 10)).toBe(1);
    expect(await store().deleteChannel(b.id)).toBe(true);
    expect(await store().media.getMedia(b.id, 'q-01')).toBeNull();
    expect((await store().media.listMedia(a.id, {}, { count: 10, offset: 0 })).total).toBe(1);
  });
}
