import { expect, it } from 'vitest';
import type { Delivery, Store } from '../types.js';
import { NOW, deliveryHelpers, outcome } from './deliveries.js';
import { T0, newChannel, statusEvent, target } from './fixtures.js';

/** What an operator does with deliveries: list them, replay them, give up a queue, count them. */
export function deliveryAdminContract(store: () => Store): void {
  const { emit, ofChannel, dueIds } = deliveryHelpers(store);

  it('replays deliveries as fresh pending copies, in the order asked, skipping unknown ids', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0 + 1, T0 + 2);
    const [d1, d2] = (await ofChannel(a.id)) as [Delivery, Delivery];
    await store().recordAttempt(d1.id, outcome('delivered', T0 + 10));
    await store().recordAttempt(d2.id, outcome('failed', T0 + 20, { lastError: 'gone' }));

    expect(await store().replayDeliveries([], NOW)).toEqual([]);
    const copies = await store().replayDeliveries([d2.id, d2.id + 1000, d1.id], NOW);
    const fresh = { status: 'pending', attempts: 0, nextAttemptAt: NOW, createdAt: NOW, updatedAt: NOW };
    const cleared = { deliveredAt: null, lastStatus: null, lastError: null };
    expect(copies.map(({ id: _id, ...rest }) => rest)).toStrictEqual(
      [d2, d1].map(({ id, ...rest }) => ({ ...rest, ...fresh, ...cleared, replayOf: id })),
    );
    const [c2, c1] = copies as [Delivery, Delivery];
    expect(c2.id).toBeGreaterThan(d2.id);
    expect(c1.id).toBeGreaterThan(c2.id);
    expect(await store().getDelivery(c1.id)).toStrictEqual({ ...c1, body: (await store().getDelivery(d1.id))?.body });

    // The copies queue up like new events, in the order they were replayed; the originals stay.
    expect(await dueIds()).toEqual([c2.id]);
    await store().recordAttempt(c2.id, outcome('delivered', NOW));
    expect(await dueIds()).toEqual([c1.id]);
    expect((await store().getDelivery(d2.id))?.status).toBe('failed');
  });

  it('fails every pending delivery of one queue, and nothing else', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const [w1, w2] = [target('https://one.test/hook'), target('https://two.test/hook')];
    await emit(a.id, [w1, w2], T0 + 1, T0 + 2, T0 + 3);
    await emit(b.id, [w1], T0 + 4);
    const rows = await ofChannel(a.id);
    const [first, ofW2] = [rows[0] as Delivery, rows[1] as Delivery];
    await store().recordAttempt(first.id, outcome('delivered', T0 + 10));

    expect(await store().failQueue(first.queueKey, 'webhook disabled: 410 Gone', NOW)).toBe(2);
    expect(await store().failQueue(first.queueKey, 'again', NOW + 1)).toBe(0);
    expect(await store().failQueue('no such queue', 'none', NOW)).toBe(0);

    const after = await ofChannel(a.id);
    const ofW1 = after.filter((d) => d.queueKey === first.queueKey);
    expect(ofW1.map((d) => [d.status, d.lastError, d.updatedAt])).toEqual([
      ['delivered', null, T0 + 10],
      ['failed', 'webhook disabled: 410 Gone', NOW],
      ['failed', 'webhook disabled: 410 Gone', NOW],
    ]);
    expect(after.filter((d) => d.queueKey === ofW2.queueKey).map((d) => d.status)).toEqual(['pending', 'pending', 'pending']);
    expect((await ofChannel(b.id)).map((d) => d.status)).toEqual(['pending']);
    expect(await dueIds()).toEqual([ofW2.id, (await ofChannel(b.id))[0]?.id]);
  });

  it("cancels a channel's pending deliveries of removed queues, or one delivery, and nothing else", async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const [w1, w2, w3] = [target('https://one.test/hook'), target('https://two.test/hook'), target('https://three.test/hook', { ordered: false })];
    await emit(a.id, [w1, w2, w3], T0 + 1, T0 + 2);
    await emit(b.id, [w1], T0 + 3);
    const rows = await ofChannel(a.id);
    const [done] = rows as [Delivery];
    await store().recordAttempt(done.id, outcome('delivered', T0 + 10));
    const keyOf = (t: typeof w1): string => rows.find((d) => d.target.url === t.url)!.queueKey;

    // w1 and w3 leave the settings; w2 stays.
    expect(await store().cancelDeliveries({ channelId: a.id, exceptQueues: [keyOf(w2)] }, 'removed', NOW)).toBe(3);
    const after = await ofChannel(a.id);
    expect(after.map((d) => [d.target.url, d.status, d.status === 'cancelled' ? d.lastError : null, d.updatedAt])).toEqual([
      [w1.url, 'delivered', null, T0 + 10],
      [w2.url, 'pending', null, T0 + 1],
      [w3.url, 'cancelled', 'removed', NOW],
      [w1.url, 'cancelled', 'removed', NOW],
      [w2.url, 'pending', null, T0 + 2],
      [w3.url, 'cancelled', 'removed', NOW],
    ]);
    expect((await ofChannel(b.id)).map((d) => d.status)).toEqual(['pending']);
    expect(await store().cancelDeliveries({ channelId: a.id, exceptQueues: [] }, 'all', NOW)).toBe(2);

    const [one] = await ofChannel(b.id);
    expect(await store().cancelDeliveries({ channelId: a.id, id: one!.id }, 'not its channel', NOW)).toBe(0);
    expect(await store().cancelDeliveries({ channelId: b.id, id: one!.id }, 'unsubscribed', NOW + 1)).toBe(1);
    expect(await store().getDelivery(one!.id)).toMatchObject({ status: 'cancelled', lastError: 'unsubscribed', attempts: 0 });
    expect(await store().outboxDepth()).toStrictEqual({ pending: 0, oldestCreatedAt: null });
    expect((await store().listDeliveries({ status: 'cancelled' }, { count: 10, offset: 0 })).total).toBe(6);
  });

  it('replays a copy to the target given for it, keeping its queue', async () => {
    const a = await store().createChannel(newChannel());
    const old = target('https://one.test/hook');
    await emit(a.id, [old], T0 + 1, T0 + 2);
    const [d1, d2] = (await ofChannel(a.id)) as [Delivery, Delivery];
    const now = { ...old, headers: { 'x-new': 'yes' }, secret: null, ordered: false, backoffDelayMs: 5000 };
    const [c1, c2] = (await store().replayDeliveries([d1.id, d2.id], NOW, [now, old])) as [Delivery, Delivery];
    expect(c1).toMatchObject({ replayOf: d1.id, target: now, queueKey: d1.queueKey });
    expect(c2).toMatchObject({ replayOf: d2.id, target: old, queueKey: d2.queueKey });
    expect((await store().getDelivery(c1.id))?.target).toStrictEqual(now);
    // The copy to an unordered webhook goes as soon as it is due, beside the ordered queue's head.
    expect(await dueIds()).toEqual([d1.id, c1.id]);
  });

  it('lists deliveries newest first, filtered by channel, status and creation time, paged, with the total', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const w = [target('https://one.test/hook', { ordered: false })];
    await emit(a.id, w, T0 + 1, T0 + 2, T0 + 3);
    await emit(b.id, w, T0 + 4);
    await emit(a.id, w, T0 + 5);
    const all = (await store().listDeliveries({}, { count: 100, offset: 0 })).deliveries;
    const ids = all.map((d) => d.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);
    expect(all.map((d) => d.createdAt)).toEqual([5, 4, 3, 2, 1].map((n) => T0 + n));
    const [a5, , a3, a2, a1] = all as [Delivery, Delivery, Delivery, Delivery, Delivery];
    await store().recordAttempt(a1.id, outcome('delivered', NOW));
    await store().recordAttempt(a3.id, outcome('failed', NOW));

    const list = async (filter: Parameters<Store['listDeliveries']>[0], count = 100, offset = 0) => {
      const { deliveries, total } = await store().listDeliveries(filter, { count, offset });
      return { ids: deliveries.map((d) => d.id), total };
    };
    expect(await list({ channelId: a.id })).toEqual({ ids: [a5.id, a3.id, a2.id, a1.id], total: 4 });
    expect(await list({ channelId: a.id }, 2, 1)).toEqual({ ids: [a3.id, a2.id], total: 4 });
    expect(await list({ channelId: a.id }, 2, 10)).toEqual({ ids: [], total: 4 });
    expect(await list({ status: 'pending' })).toEqual({ ids: [a5.id, all[1]?.id, a2.id], total: 3 });
    expect(await list({ status: 'failed' })).toEqual({ ids: [a3.id], total: 1 });
    expect(await list({ channelId: b.id, status: 'delivered' })).toEqual({ ids: [], total: 0 });
    expect(await list({ since: T0 + 2, until: T0 + 4 })).toEqual({ ids: [a3.id, a2.id], total: 2 });
    expect(await list({ channelId: a.id, status: 'pending', since: T0 + 2 }, 1)).toEqual({ ids: [a5.id], total: 2 });
    expect(await list({ channelId: 'NOPE-00000' })).toEqual({ ids: [], total: 0 });
    // Keyset paging: what follows a delivery in the log's order, with the other filters.
    expect(await list({ channelId: a.id, before: a3.id })).toEqual({ ids: [a2.id, a1.id], total: 2 });
    expect(await list({ before: a5.id }, 2)).toEqual({ ids: [all[1]?.id, a3.id], total: 4 });
    expect(await list({ channelId: a.id, status: 'pending', before: a5.id })).toEqual({ ids: [a2.id], total: 1 });
  });

  it('orders the log by creation time, then id, and caps the total at 10,000 matches', async () => {
    const a = await store().createChannel(newChannel());
    const w = [target('https://one.test/hook', { ordered: false })];
    // A later id with an earlier creation time (a clock step back) still lists by time.
    await emit(a.id, w, T0 + 20, T0 + 10);
    const [late, early] = (await store().listDeliveries({ channelId: a.id }, { count: 10, offset: 0 })).deliveries;
    expect([late?.createdAt, early?.createdAt]).toEqual([T0 + 20, T0 + 10]);
    expect(late!.id).toBeLessThan(early!.id);
    expect(await store().listDeliveries({ channelId: a.id }, { count: 1, offset: 0 })).toMatchObject({ total: 2, totalCapped: false });

    const b = await store().createChannel(newChannel());
    await store().commitChange({ channelId: b.id, events: Array.from({ length: 10_001 }, (_, i) => ({ ...statusEvent(b.id, 'x', T0 + i), targets: w })) });
    const page = await store().listDeliveries({ channelId: b.id }, { count: 3, offset: 0 });
    expect(page).toMatchObject({ total: 10_000, totalCapped: true });
    expect(page.deliveries.map((d) => d.createdAt)).toEqual([T0 + 10_000, T0 + 9_999, T0 + 9_998]);
    expect(await store().listDeliveries({ channelId: b.id, since: T0 + 1 }, { count: 1, offset: 0 })).toMatchObject({ total: 10_000, totalCapped: false });
  });

  it('answers the outbox depth and the earliest due time of what is pending', async () => {
    expect(await store().outboxDepth()).toStrictEqual({ pending: 0, oldestCreatedAt: null });
    expect(await store().nextDeliveryDue()).toBeNull();
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await emit(a.id, [target('https://one.test/hook')], T0 + 5, T0 + 6);
    await emit(b.id, [target('https://one.test/hook', { ordered: false })], T0 + 7);
    expect(await store().outboxDepth()).toStrictEqual({ pending: 3, oldestCreatedAt: T0 + 5 });
    expect(await store().nextDeliveryDue()).toBe(T0 + 5);

    const [d1, d2] = (await ofChannel(a.id)) as [Delivery, Delivery];
    const [d3] = (await ofChannel(b.id)) as [Delivery];
    await store().recordAttempt(d1.id, outcome('delivered', T0 + 100));
    await store().recordAttempt(d3.id, outcome('pending', T0 + 100, { nextAttemptAt: NOW + 9 }));
    expect(await store().outboxDepth()).toStrictEqual({ pending: 2, oldestCreatedAt: T0 + 6 });
    await store().recordAttempt(d2.id, outcome('failed', T0 + 200));
    expect(await store().outboxDepth()).toStrictEqual({ pending: 1, oldestCreatedAt: T0 + 7 });
    expect(await store().nextDeliveryDue()).toBe(NOW + 9);
  });

  it('keeps each attempt with its answer, numbered, the latest first, in batches as one at a time', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook', { ordered: false })], T0 + 1, T0 + 2);
    const [d1, d2] = (await ofChannel(a.id)) as [Delivery, Delivery];
    expect(await store().listDeliveryAttempts(d1.id, 10)).toEqual([]);
    const answer = '{"error":"database is down"} \u00e9\u20ac\n\t<html>';
    await store().recordAttempt(d1.id, outcome('pending', T0 + 10, { nextAttemptAt: T0 + 500, lastStatus: 503, lastError: 'HTTP 503', durationMs: 12, answer }));
    await store().recordAttempts([
      { id: d1.id, result: outcome('pending', T0 + 600, { nextAttemptAt: T0 + 1600, lastStatus: null, lastError: 'ECONNREFUSED: connect refused', durationMs: 3 }) },
      { id: d2.id, result: outcome('failed', T0 + 600, { lastStatus: null, lastError: 'gave up: older than webhook_max_age_seconds (15 s)' }) },
    ]);
    await store().recordAttempt(d1.id, outcome('delivered', T0 + 1700, { lastStatus: 200, durationMs: 8, answer: '' }));

    expect(await store().listDeliveryAttempts(d1.id, 10)).toStrictEqual([
      { attempt: 3, at: T0 + 1700, status: 200, error: null, durationMs: 8, answer: '' },
      { attempt: 2, at: T0 + 600, status: null, error: 'ECONNREFUSED: connect refused', durationMs: 3, answer: null },
      { attempt: 1, at: T0 + 10, status: 503, error: 'HTTP 503', durationMs: 12, answer },
    ]);
    expect((await store().listDeliveryAttempts(d1.id, 2)).map((x) => x.attempt)).toEqual([3, 2]);
    // Given up unsent (too old): an attempt with no request and no answer.
    expect(await store().listDeliveryAttempts(d2.id, 10)).toStrictEqual([
      { attempt: 1, at: T0 + 600, status: null, error: 'gave up: older than webhook_max_age_seconds (15 s)', durationMs: null, answer: null },
    ]);
    expect((await store().getDelivery(d1.id))?.attempts).toBe(3);

    // A replay starts its own log; the original keeps its attempts.
    const [copy] = (await store().replayDeliveries([d1.id], NOW)) as [Delivery];
    expect(await store().listDeliveryAttempts(copy.id, 10)).toEqual([]);
    expect(await store().listDeliveryAttempts(d1.id, 10)).toHaveLength(3);
  });

  it('keeps the attempt that delivered a delivery when the delivery is given another outcome', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0 + 1);
    const [d] = (await ofChannel(a.id)) as [Delivery];
    await store().recordAttempt(d.id, outcome('delivered', T0 + 10, { durationMs: 5, answer: 'ok' }));
    expect(await store().listDeliveryAttempts(d.id, 10)).toStrictEqual([{ attempt: 1, at: T0 + 10, status: 200, error: null, durationMs: 5, answer: 'ok' }]);
    // A duplicate send's outcome: both attempts are listed, the first as it was.
    await store().recordAttempts([{ id: d.id, result: outcome('delivered', T0 + 20, { durationMs: 6, answer: 'again' }) }]);
    expect(await store().listDeliveryAttempts(d.id, 10)).toStrictEqual([
      { attempt: 2, at: T0 + 20, status: 200, error: null, durationMs: 6, answer: 'again' },
      { attempt: 1, at: T0 + 10, status: 200, error: null, durationMs: 5, answer: 'ok' },
    ]);
    expect(await store().listDeliveryAttempts(d.id, 1)).toHaveLength(1);
  });
}
