import { expect, it } from 'vitest';
import { UnknownChannelError } from '../errors.js';
import type { ChannelRuntimeSnapshot, OutboundEvent, Store } from '../types.js';
import { T0, TRICKY_JSON, historyEntry, newChannel, statusEvent } from './fixtures.js';

const AUTH: ChannelRuntimeSnapshot = {
  status: 'AUTH',
  statusReason: 'scan',
  statusDetail: 'paired',
  statusSince: T0 + 10,
  startAt: T0,
  user: { id: '61371989950', name: 'Jonathan' },
};

/** commitChange's atomicity, and reading back history and events. */
export function changeContract(store: () => Store): void {
  it('writes the snapshot, the history and the events of a change together', async () => {
    const a = await store().createChannel(newChannel());
    const events = [statusEvent(a.id, 'QR', T0 + 5), statusEvent(a.id, 'AUTH', T0 + 10)];
    await store().commitChange({
      channelId: a.id,
      snapshot: AUTH,
      history: [historyEntry(T0 + 5, 'LAUNCH', 'QR'), historyEntry(T0 + 10, 'QR', 'AUTH', 'scanned')],
      events,
    });
    expect(await store().getChannel(a.id)).toStrictEqual({ ...a, ...AUTH });
    expect((await store().historySince(a.id, 0)).map((h) => h.to)).toEqual(['QR', 'AUTH']);
    const stored = await store().listEvents(a.id, 0, 10);
    expect(stored.map(({ name, body, createdAt, channelId }) => ({ name, body, createdAt, channelId }))).toStrictEqual(
      events.map((e) => ({ ...e, channelId: a.id })),
    );
    expect((stored[1]?.seq ?? 0) > (stored[0]?.seq ?? 0)).toBe(true);
  });

  it("keeps the id of a channel's last change, so a writer that lost a COMMIT's answer can tell", async () => {
    const a = await store().createChannel(newChannel());
    expect(await store().lastChangeId(a.id)).toBeNull();
    await store().commitChange({ channelId: a.id, changeId: 'change-1', events: [statusEvent(a.id, 'INIT', T0)] });
    await store().commitChange({ channelId: a.id, changeId: 'change-2', history: [historyEntry(T0 + 1, 'INIT', 'LAUNCH')] });
    expect(await store().lastChangeId(a.id)).toBe('change-2');
    // A change that fails half-way leaves the last id as it was.
    await expect(store().commitChange({ channelId: 'NOPE-00000', changeId: 'change-3' })).rejects.toThrow(UnknownChannelError);
    expect(await store().lastChangeId(a.id)).toBe('change-2');
    await store().probeWrite();
  });

  it('leaves the status as it was when a change has no snapshot', async () => {
    const a = await store().createChannel(newChannel());
    await store().commitChange({ channelId: a.id, events: [statusEvent(a.id, 'NOT_INIT', T0)] });
    expect(await store().getChannel(a.id)).toStrictEqual(a);
    expect(await store().listEvents(a.id, 0, 10)).toHaveLength(1);
  });

  it('wipes the credentials of that channel only when the change says so', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await store().setCredentials(a.id, { creds: 'a' });
    await store().setCredentials(b.id, { creds: 'b' });
    await store().commitChange({ channelId: a.id, snapshot: { ...AUTH, status: 'QR', user: null } });
    expect(await store().getCredentials(a.id, ['creds'])).toStrictEqual({ creds: 'a' });
    await store().commitChange({ channelId: a.id, wipeCredentials: true });
    expect(await store().getCredentials(a.id, ['creds'])).toStrictEqual({});
    expect(await store().getCredentials(b.id, ['creds'])).toStrictEqual({ creds: 'b' });
  });

  it('rejects a change for a missing channel and writes nothing', async () => {
    const change = {
      channelId: 'GONE-00000',
      snapshot: AUTH,
      history: [historyEntry(T0, 'QR', 'AUTH')],
      events: [statusEvent('GONE-00000', 'AUTH', T0)],
    };
    await expect(store().commitChange(change)).rejects.toBeInstanceOf(UnknownChannelError);
    expect(await store().listEvents(null, 0, 10)).toEqual([]);
    expect(await store().historySince('GONE-00000', 0)).toEqual([]);
  });

  it('writes nothing of a change that fails half-way, and keeps working afterwards', async () => {
    const a = await store().createChannel(newChannel());
    await store().setCredentials(a.id, { creds: 'kept' });
    // A fractional timestamp is refused by the database itself (STRICT INTEGER / bigint), after
    // the snapshot, the history, the wipe and the first event were already written.
    const bad: OutboundEvent = { ...statusEvent(a.id, 'AUTH', T0), createdAt: T0 + 0.5 };
    await expect(
      store().commitChange({
        channelId: a.id,
        snapshot: AUTH,
        history: [historyEntry(T0, 'QR', 'AUTH')],
        wipeCredentials: true,
        events: [statusEvent(a.id, 'AUTH', T0), bad],
      }),
    ).rejects.toThrow();
    expect(await store().getChannel(a.id)).toStrictEqual(a);
    expect(await store().historySince(a.id, 0)).toEqual([]);
    expect(await store().listEvents(null, 0, 10)).toEqual([]);
    expect(await store().getCredentials(a.id, ['creds'])).toStrictEqual({ creds: 'kept' });

    await store().commitChange({ channelId: a.id, snapshot: AUTH, events: [statusEvent(a.id, 'AUTH', T0)] });
    expect((await store().getChannel(a.id))?.status).toBe('AUTH');
  });

  it('lists the history newest first, paged, with the total; equal times by insertion', async () => {
    const a = await store().createChannel(newChannel());
    const b = await store().createChannel(newChannel());
    await store().commitChange({
      channelId: a.id,
      history: [historyEntry(T0 + 1, 'NOT_INIT', 'INIT'), historyEntry(T0 + 2, 'INIT', 'LAUNCH')],
    });
    await store().commitChange({ channelId: b.id, history: [historyEntry(T0 + 9, 'NOT_INIT', 'INIT')] });
    // Same millisecond as the previous row: the later write must still come first.
    await store().commitChange({ channelId: a.id, history: [historyEntry(T0 + 2, 'LAUNCH', 'QR', 'first qr')] });

    const all = await store().listHistory(a.id, { count: 10, offset: 0 });
    expect(all).toStrictEqual({
      history: [
        historyEntry(T0 + 2, 'LAUNCH', 'QR', 'first qr'),
        historyEntry(T0 + 2, 'INIT', 'LAUNCH'),
        historyEntry(T0 + 1, 'NOT_INIT', 'INIT'),
      ],
      total: 3,
    });
    // No detail stored means no `detail` key at all, not `detail: null`.
    expect(Object.keys(all.history[1] ?? {})).not.toContain('detail');
    expect(await store().listHistory(a.id, { count: 1, offset: 1 })).toStrictEqual({
      history: [historyEntry(T0 + 2, 'INIT', 'LAUNCH')],
      total: 3,
    });
    expect(await store().listHistory('NOPE-00000', { count: 5, offset: 0 })).toStrictEqual({ history: [], total: 0 });
  });

  it('answers the history at or after a time, oldest first', async () => {
    const a = await store().createChannel(newChannel());
    const rows = [10, 20, 30, 40].map((d, i) => historyEntry(T0 + d, i % 2 ? 'AUTH' : 'INIT', i % 2 ? 'INIT' : 'AUTH'));
    await store().commitChange({ channelId: a.id, history: rows });
    expect(await store().historySince(a.id, T0 + 20)).toStrictEqual(rows.slice(1));
    expect(await store().historySince(a.id, T0 + 41)).toEqual([]);
  });

  it('numbers events globally in seq order and lists them by channel, after a seq, up to a limit', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    expect(await store().lastEventSeq()).toBe(0);
    for (const [i, c] of [a, b, a, b, a].entries()) {
      await store().commitChange({ channelId: c.id, events: [statusEvent(c.id, `S${i}`, T0 + i)] });
    }
    const all = await store().listEvents(null, 0, 100);
    expect(all.map((e) => e.body.health)).toEqual([0, 1, 2, 3, 4].map((i) => ({ status: { text: `S${i}` } })));
    const seqs = all.map((e) => e.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(5);

    expect((await store().listEvents(a.id, 0, 100)).map((e) => e.seq)).toEqual([seqs[0], seqs[2], seqs[4]]);
    expect((await store().listEvents(a.id, seqs[0] as number, 1)).map((e) => e.seq)).toEqual([seqs[2]]);
    expect((await store().listEvents(null, seqs[1] as number, 2)).map((e) => e.channelId)).toEqual([a.id, b.id]);
    expect(await store().listEvents(null, seqs[4] as number, 10)).toEqual([]);
    expect(await store().lastEventSeq()).toBe(seqs[4]);
  });

  it('keeps an event body exactly, key order and \\u0000 included', async () => {
    const a = await store().createChannel(newChannel());
    const body = { ...TRICKY_JSON, messages: [{ text: { body: 'nul \u0000 inside' } }], channel_id: a.id };
    await store().commitChange({ channelId: a.id, events: [{ name: 'messages.post', body, createdAt: T0 }] });
    const [event] = await store().listEvents(a.id, 0, 1);
    expect(event?.body).toStrictEqual(body);
    expect(JSON.stringify(event?.body)).toBe(JSON.stringify(body));
  });

  it('loses nothing when many changes are committed at once', async () => {
    const channels = await Promise.all([0, 1, 2, 3, 4].map(() => store().createChannel(newChannel())));
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const c = channels[i % channels.length] as (typeof channels)[number];
        return store().commitChange({
          channelId: c.id,
          snapshot: { ...AUTH, statusSince: T0 + i },
          history: [historyEntry(T0 + i, 'INIT', 'AUTH')],
          events: [statusEvent(c.id, `S${i}`, T0 + i)],
        });
      }),
    );
    expect(await store().listEvents(null, 0, 1000)).toHaveLength(100);
    for (const c of channels) expect((await store().listHistory(c.id, { count: 1, offset: 0 })).total).toBe(20);
  });
}
