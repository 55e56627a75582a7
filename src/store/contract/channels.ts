import { expect, it } from 'vitest';
import type { ChannelRecord, Store } from '../types.js';
import { T0, TRICKY_JSON, historyEntry, newChannel, statusEvent } from './fixtures.js';

/** Channel rows: create, read, list, patch, delete, and exact JSON. */
export function channelContract(store: () => Store): void {
  it('creates a channel that starts NOT_INIT, running, unlinked, with statusSince = createdAt', async () => {
    const input = newChannel();
    const created = await store().createChannel(input);
    const expected: ChannelRecord = {
      ...input,
      stopped: false,
      status: 'NOT_INIT',
      statusReason: 'created',
      statusDetail: null,
      statusSince: input.createdAt,
      startAt: null,
      user: null,
    };
    expect(created).toStrictEqual(expected);
    expect(await store().getChannel(input.id)).toStrictEqual(expected);
  });

  it('finds a channel by id and by token hash, and answers null for unknown ones', async () => {
    const a = await store().createChannel(newChannel());
    const b = await store().createChannel(newChannel());
    expect((await store().findChannelByTokenHash(b.tokenHash))?.id).toBe(b.id);
    expect((await store().getChannel(a.id))?.tokenHash).toBe(a.tokenHash);
    expect(await store().getChannel('NOPE-00000')).toBeNull();
    expect(await store().findChannelByTokenHash('no-such-hash')).toBeNull();
  });

  it('answers channels read at once, each read a record of its own', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const [a1, gone, b1, a2] = await Promise.all([store().getChannel(a.id), store().getChannel('GONE-00000'), store().getChannel(b.id), store().getChannel(a.id)]);
    expect([a1?.id, gone, b1?.id, a2?.id]).toStrictEqual([a.id, null, b.id, a.id]);
    expect(a1).toStrictEqual(a2);
    // Callers keep and change what they are given: two reads share nothing.
    expect(a1).not.toBe(a2);
    expect(a1?.settings).not.toBe(a2?.settings);
  });

  it('refuses a second channel with the same id or the same token hash', async () => {
    const a = await store().createChannel(newChannel());
    await expect(store().createChannel(newChannel({ id: a.id }))).rejects.toThrow();
    await expect(store().createChannel(newChannel({ tokenHash: a.tokenHash }))).rejects.toThrow();
    expect((await store().listChannels({ count: 10, offset: 0 })).total).toBe(1);
  });

  it('lists channels oldest first, paged, with the total', async () => {
    // Created out of order, so the order can only come from createdAt.
    for (const offset of [3, 1, 4, 0, 2]) {
      await store().createChannel(newChannel({ id: `ORDER-${offset}`, createdAt: T0 + offset }));
    }
    const all = await store().listChannels({ count: 100, offset: 0 });
    expect(all.channels.map((c) => c.id)).toEqual(['ORDER-0', 'ORDER-1', 'ORDER-2', 'ORDER-3', 'ORDER-4']);
    expect(all.total).toBe(5);
    const page = await store().listChannels({ count: 2, offset: 1 });
    expect(page).toMatchObject({ total: 5 });
    expect(page.channels.map((c) => c.id)).toEqual(['ORDER-1', 'ORDER-2']);
    expect(await store().listChannels({ count: 2, offset: 10 })).toStrictEqual({ channels: [], total: 5 });
    expect((await store().allChannels()).map((c) => c.id)).toEqual(all.channels.map((c) => c.id));
  });

  it('patches only the given fields and answers whether the channel existed', async () => {
    const a = await store().createChannel(newChannel());
    expect(await store().updateChannel(a.id, { name: 'renamed', stopped: true })).toBe(true);
    expect(await store().getChannel(a.id)).toStrictEqual({ ...a, name: 'renamed', stopped: true });

    const patch = { settings: { proxy: '' }, tokenHash: 'rotated', stopped: false };
    expect(await store().updateChannel(a.id, patch)).toBe(true);
    expect(await store().getChannel(a.id)).toStrictEqual({
      ...a,
      name: 'renamed',
      settings: { proxy: '' },
      tokenHash: 'rotated',
    });
    expect(await store().findChannelByTokenHash(a.tokenHash)).toBeNull();
    expect((await store().findChannelByTokenHash('rotated'))?.id).toBe(a.id);

    expect(await store().updateChannel(a.id, {})).toBe(true);
    expect(await store().updateChannel('NOPE-00000', { name: 'x' })).toBe(false);
    expect(await store().updateChannel('NOPE-00000', {})).toBe(false);
  });

  it('deletes a channel with its history, events and credentials, and leaves the others alone', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    for (const c of [a, b]) {
      await store().commitChange({
        channelId: c.id,
        history: [historyEntry(T0, 'NOT_INIT', 'INIT')],
        events: [statusEvent(c.id, 'INIT', T0)],
      });
      await store().setCredentials(c.id, { creds: `secret of ${c.id}` });
    }

    expect(await store().deleteChannel(a.id)).toBe(true);
    expect(await store().getChannel(a.id)).toBeNull();
    expect(await store().listHistory(a.id, { count: 10, offset: 0 })).toStrictEqual({ history: [], total: 0 });
    expect(await store().listEvents(a.id, 0, 10)).toEqual([]);
    expect(await store().getCredentials(a.id, ['creds'])).toStrictEqual({});

    expect((await store().listHistory(b.id, { count: 10, offset: 0 })).total).toBe(1);
    expect(await store().listEvents(null, 0, 10)).toHaveLength(1);
    expect(await store().getCredentials(b.id, ['creds'])).toStrictEqual({ creds: `secret of ${b.id}` });

    expect(await store().deleteChannel(a.id)).toBe(false);
  });

  it('keeps settings, engine options and the user exactly as given', async () => {
    const user = { id: '61371989950', name: 'Jönathan 🙂' };
    const input = newChannel({ settings: TRICKY_JSON, engineOptions: { ...TRICKY_JSON, x: 1 } });
    const a = await store().createChannel(input);
    await store().commitChange({
      channelId: a.id,
      snapshot: { status: 'AUTH', statusReason: 'scan', statusDetail: null, statusSince: T0, startAt: T0, user },
    });
    const read = await store().getChannel(a.id);
    expect(read?.settings).toStrictEqual(TRICKY_JSON);
    expect(read?.engineOptions).toStrictEqual({ ...TRICKY_JSON, x: 1 });
    expect(read?.user).toStrictEqual(user);
    expect((await store().listChannels({ count: 1, offset: 0 })).channels[0]?.settings).toStrictEqual(TRICKY_JSON);

    await store().updateChannel(a.id, { settings: { ...TRICKY_JSON, changed: [true] } });
    expect((await store().getChannel(a.id))?.settings).toStrictEqual({ ...TRICKY_JSON, changed: [true] });
  });

  it('answers every timestamp as a JS number, exactly', async () => {
    const a = await store().createChannel(newChannel({ createdAt: T0 }));
    const later = T0 + 86_400_000 * 365 * 30; // still far below 2^53
    await store().commitChange({
      channelId: a.id,
      snapshot: {
        status: 'INIT',
        statusReason: 'start',
        statusDetail: 'why',
        statusSince: later,
        startAt: later,
        user: null,
      },
      history: [historyEntry(later, 'NOT_INIT', 'INIT')],
      events: [statusEvent(a.id, 'INIT', later)],
    });
    const read = (await store().getChannel(a.id)) as ChannelRecord;
    expect([read.createdAt, read.statusSince, read.startAt]).toStrictEqual([T0, later, later]);
    expect((await store().historySince(a.id, 0))[0]?.at).toBe(later);
    const [event] = await store().listEvents(a.id, 0, 1);
    expect(event?.createdAt).toBe(later);
    expect(typeof event?.seq).toBe('number');
    const { total } = await store().listChannels({ count: 1, offset: 0 });
    expect(total).toBe(1);
  });
}
