import { expect, it } from 'vitest';
import { UnknownChannelError } from '../errors.js';
import type { ChannelChange, ChannelRuntimeSnapshot, Store } from '../types.js';
import { T0, historyEntry, newChannel, statusEvent, target } from './fixtures.js';

const snapshot = (status: ChannelRuntimeSnapshot['status'], at: number): ChannelRuntimeSnapshot => ({
  status,
  statusReason: `to ${status}`,
  statusDetail: null,
  statusSince: at,
  startAt: T0,
  user: status === 'AUTH' ? { id: '61371989950', name: 'Jonathan' } : null,
});

const text = (body: Record<string, unknown>): string => (body.health as { status: { text: string } }).status.text;

/** Many channels' changes handed over at once, as a boot's resumes are: a store may group-commit them. */
export function groupChangeContract(store: () => Store): void {
  it("writes every channel's snapshot, history, events and deliveries of changes made at once, each channel's in order", async () => {
    const channels = await Promise.all(Array.from({ length: 40 }, () => store().createChannel(newChannel())));
    const hook = target('https://one.test/hook');
    const change = (id: string, i: number, status: ChannelRuntimeSnapshot['status']): ChannelChange => ({
      channelId: id,
      changeId: `${id}-${i}`,
      snapshot: snapshot(status, T0 + i),
      history: [historyEntry(T0 + i, 'INIT', status)],
      events: [{ ...statusEvent(id, `${status}-a`, T0 + i), targets: [hook] }, { ...statusEvent(id, `${status}-b`, T0 + i), targets: [hook, target('https://two.test/hook')] }],
    });
    // Every channel's LAUNCH at once; one of them also records a message; then every AUTH at once.
    const [first] = channels as [(typeof channels)[0]];
    await Promise.all([
      ...channels.map((ch) => store().commitChange(change(ch.id, 1, 'LAUNCH'))),
      store().commitChange({ channelId: first.id, messages: [{ id: 'm1', chatId: '1@s.whatsapp.net', fromMe: true, timestamp: 1, message: { id: 'm1' } }] }),
    ]);
    await Promise.all(channels.map((ch) => store().commitChange(change(ch.id, 2, 'AUTH'))));
    for (const ch of channels) {
      expect(await store().getChannel(ch.id)).toMatchObject({ status: 'AUTH', statusSince: T0 + 2, user: { id: '61371989950' } });
      expect(await store().lastChangeId(ch.id)).toBe(`${ch.id}-2`);
      expect((await store().historySince(ch.id, 0)).map((h) => h.to)).toEqual(['LAUNCH', 'AUTH']);
      const events = await store().listEvents(ch.id, 0, 10);
      expect(events.map((e) => text(e.body))).toEqual(['LAUNCH-a', 'LAUNCH-b', 'AUTH-a', 'AUTH-b']);
      // Each queue's deliveries follow its events: ids grow with seqs, and the head is the first.
      const { deliveries } = await store().listDeliveries({ channelId: ch.id }, { count: 100, offset: 0 });
      const one = deliveries.filter((d) => d.target.url === 'https://one.test/hook').sort((x, y) => x.id - y.id);
      expect(one.map((d) => d.eventSeq)).toEqual(events.map((e) => e.seq));
      expect(deliveries).toHaveLength(6);
    }
    expect((await store().getMessage(first.id, 'm1'))?.message).toStrictEqual({ id: 'm1' });
    const heads = (await store().dueDeliveries(T0 + 1000, 1000)).filter((d) => d.target.url === 'https://one.test/hook');
    expect(heads).toHaveLength(channels.length);
    for (const head of heads) expect(head.body).toContain('LAUNCH-a');
  });

  it('refuses only the change of a channel that is gone, among changes made at once', async () => {
    const channels = await Promise.all(Array.from({ length: 5 }, () => store().createChannel(newChannel())));
    const results = await Promise.allSettled([
      ...channels.map((ch) => store().commitChange({ channelId: ch.id, changeId: `${ch.id}-x`, snapshot: snapshot('AUTH', T0), events: [statusEvent(ch.id, 'AUTH', T0)] })),
      store().commitChange({ channelId: 'NOPE-00000', history: [historyEntry(T0, 'INIT', 'LAUNCH')] }),
    ]);
    expect(results.slice(0, 5).map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    expect(results[5]).toMatchObject({ status: 'rejected', reason: expect.any(UnknownChannelError) });
    for (const ch of channels) {
      expect(await store().lastChangeId(ch.id)).toBe(`${ch.id}-x`);
      expect(await store().listEvents(ch.id, 0, 10)).toHaveLength(1);
    }
  });
}
