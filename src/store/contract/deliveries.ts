import { expect, it } from 'vitest';
import { deliveryQueueKey } from '../rows.js';
import type { AttemptResult, Delivery, DeliveryTarget, DueDelivery, OutboundEvent, Store } from '../types.js';
import { T0, TRICKY_JSON, newChannel, statusEvent, target } from './fixtures.js';

/** Long after every event of these tests: everything pending is due by time. */
export const NOW = T0 + 60_000;

/** An attempt's outcome; a retry is `pending` with a later `nextAttemptAt`. */
export function outcome(status: AttemptResult['status'], at: number, over: Partial<AttemptResult> = {}): AttemptResult {
  return { status, nextAttemptAt: at, at, lastStatus: status === 'delivered' ? 200 : 500, lastError: null, ...over };
}

/** Helpers over the store under test, shared by the delivery contract files. */
export function deliveryHelpers(store: () => Store) {
  return {
    /** Commits one change with one status event per time, each to every target. */
    async emit(channelId: string, targets: DeliveryTarget[], ...times: number[]): Promise<void> {
      const events = times.map((at, i): OutboundEvent => ({ ...statusEvent(channelId, `S${i}`, at), targets }));
      await store().commitChange({ channelId, events });
    },
    /** A channel's deliveries, oldest (lowest id) first. */
    async ofChannel(channelId: string): Promise<Delivery[]> {
      const { deliveries } = await store().listDeliveries({ channelId }, { count: 1000, offset: 0 });
      return deliveries.reverse();
    },
    /** The ids due at `now`, in the order the store answers them. */
    async dueIds(now = NOW, limit = 100): Promise<number[]> {
      return (await store().dueDeliveries(now, limit)).map((d) => d.id);
    },
  };
}

/** The outbox's second half: deliveries written with their events, and their queues. */
export function deliveryContract(store: () => Store): void {
  const { emit, ofChannel, dueIds } = deliveryHelpers(store);

  it('writes one pending delivery per event and target with the event, ids in event order', async () => {
    const a = await store().createChannel(newChannel());
    const [w1, w2] = [target('https://one.test/hook'), target('https://two.test/hook', { mode: 'path', ordered: false })];
    await emit(a.id, [w1, w2], T0 + 1, T0 + 2);
    await store().commitChange({ channelId: a.id, events: [statusEvent(a.id, 'no targets', T0 + 3)] });
    await store().commitChange({ channelId: a.id, events: [{ ...statusEvent(a.id, 'none', T0 + 4), targets: [] }] });

    const seqs = (await store().listEvents(a.id, 0, 10)).map((e) => e.seq);
    const rows = await ofChannel(a.id);
    expect(rows.map(({ id: _id, ...rest }) => rest)).toStrictEqual(
      [
        [seqs[0], w1, T0 + 1],
        [seqs[0], w2, T0 + 1],
        [seqs[1], w1, T0 + 2],
        [seqs[1], w2, T0 + 2],
      ].map(([eventSeq, t, at]) => ({
        eventSeq,
        channelId: a.id,
        eventName: 'channel.post',
        target: t,
        queueKey: deliveryQueueKey(a.id, t as DeliveryTarget),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: at,
        createdAt: at,
        updatedAt: at,
        deliveredAt: null,
        lastStatus: null,
        lastError: null,
        replayOf: null,
      })),
    );
    const ids = rows.map((d) => d.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
    expect(deliveryQueueKey(a.id, w1)).not.toBe(deliveryQueueKey(a.id, { ...w1, mode: 'path' }));
  });

  it('writes no delivery of a change that fails half-way, nor of one for a missing channel', async () => {
    const a = await store().createChannel(newChannel());
    const targets = [target('https://one.test/hook'), target('https://two.test/hook', { ordered: false })];
    // The first event and its deliveries are written before the fractional time is refused.
    const bad: OutboundEvent = { ...statusEvent(a.id, 'AUTH', T0), createdAt: T0 + 0.5, targets };
    await expect(
      store().commitChange({ channelId: a.id, events: [{ ...statusEvent(a.id, 'QR', T0), targets }, bad] }),
    ).rejects.toThrow();
    await expect(
      store().commitChange({ channelId: 'GONE-00000', events: [{ ...statusEvent('GONE-00000', 'QR', T0), targets }] }),
    ).rejects.toThrow();
    expect(await store().listDeliveries({}, { count: 10, offset: 0 })).toStrictEqual({ deliveries: [], total: 0, totalCapped: false });
    expect(await store().dueDeliveries(NOW, 10)).toEqual([]);
    expect(await store().nextDeliveryDue()).toBeNull();
    expect(await store().outboxDepth()).toStrictEqual({ pending: 0, oldestCreatedAt: null });

    await emit(a.id, targets, T0);
    expect((await ofChannel(a.id)).map((d) => d.target)).toStrictEqual(targets);
  });

  it('lets only the head of an ordered queue go, until it is delivered or failed', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0 + 1, T0 + 2);
    await emit(a.id, [target('https://one.test/hook')], T0 + 3);
    const [d1, d2, d3] = (await ofChannel(a.id)).map((d) => d.id) as [number, number, number];

    expect(await dueIds()).toEqual([d1]);
    await store().recordAttempt(d1, outcome('delivered', T0 + 100));
    expect(await dueIds()).toEqual([d2]);
    await store().recordAttempt(d2, outcome('failed', T0 + 200, { lastError: 'too old' }));
    expect(await dueIds()).toEqual([d3]);
    await store().recordAttempt(d3, outcome('delivered', T0 + 300));
    expect(await dueIds()).toEqual([]);
    expect(await store().nextDeliveryDue()).toBeNull();
  });

  it('holds an ordered queue behind a head that waits for its retry, even when the rest is due', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0 + 1, T0 + 2, T0 + 3);
    const [d1, d2] = (await ofChannel(a.id)).map((d) => d.id) as [number, number, number];
    await store().recordAttempt(d1, outcome('pending', T0 + 10, { nextAttemptAt: NOW + 5000 }));

    expect(await dueIds(NOW)).toEqual([]);
    expect(await dueIds(NOW + 4999)).toEqual([]);
    expect(await dueIds(NOW + 5000)).toEqual([d1]);
    await store().recordAttempt(d1, outcome('delivered', NOW + 5000));
    expect(await dueIds(NOW + 5000)).toEqual([d2]);
  });

  it('answers as next due time a head waiting for its retry, not the due rows behind it', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0 + 1, T0 + 2, T0 + 3);
    const [d1] = (await ofChannel(a.id)).map((d) => d.id) as [number, number, number];
    await store().recordAttempt(d1, outcome('pending', NOW, { nextAttemptAt: NOW + 10_000 }));
    // d2 and d3 are due by their own time, but nothing can go before the head.
    expect(await store().nextDeliveryDue()).toBe(NOW + 10_000);
    expect(await dueIds(NOW + 9_999)).toEqual([]);

    // An unordered row and another queue's head count, each by its own time.
    await emit(a.id, [target('https://two.test/hook', { ordered: false })], T0 + 4, T0 + 5);
    const [u1, u2] = (await ofChannel(a.id)).slice(3).map((d) => d.id) as [number, number];
    await store().recordAttempt(u1, outcome('pending', NOW, { nextAttemptAt: NOW + 7_000 }));
    await store().recordAttempt(u2, outcome('pending', NOW, { nextAttemptAt: NOW + 8_000 }));
    expect(await store().nextDeliveryDue()).toBe(NOW + 7_000);
    await store().recordAttempt(u1, outcome('delivered', NOW + 7_000));
    expect(await store().nextDeliveryDue()).toBe(NOW + 8_000);
    await emit(a.id, [target('https://three.test/hook')], T0 + 6);
    expect(await store().nextDeliveryDue()).toBe(T0 + 6);
    expect(await dueIds(T0 + 6)).toHaveLength(1);
  });

  it('lets every due delivery of an unordered queue go at once, oldest due first', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook', { ordered: false })], T0 + 1, T0 + 2, T0 + 3);
    const [d1, d2, d3] = (await ofChannel(a.id)).map((d) => d.id) as [number, number, number];
    expect(await dueIds()).toEqual([d1, d2, d3]);
    expect(await dueIds(NOW, 2)).toEqual([d1, d2]);
    expect(await dueIds(T0 + 2)).toEqual([d1, d2]);

    // A retry later than the others goes to the back; a retry in the future blocks nothing.
    await store().recordAttempt(d1, outcome('pending', T0 + 10, { nextAttemptAt: T0 + 50 }));
    expect(await dueIds()).toEqual([d2, d3, d1]);
    await store().recordAttempt(d2, outcome('pending', T0 + 10, { nextAttemptAt: NOW + 1 }));
    expect(await dueIds()).toEqual([d3, d1]);
  });

  it('keeps the queues of two webhooks and of two channels apart', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const [w1, w2] = [target('https://one.test/hook'), target('https://two.test/hook')];
    await emit(a.id, [w1, w2], T0 + 1, T0 + 2);
    await emit(b.id, [w1], T0 + 3, T0 + 4);
    const [a1w1, a1w2, a2w1, a2w2] = (await ofChannel(a.id)).map((d) => d.id) as number[];
    const [b1, b2] = (await ofChannel(b.id)).map((d) => d.id) as number[];

    expect(await dueIds()).toEqual([a1w1, a1w2, b1]);
    expect(await dueIds(NOW, 2)).toEqual([a1w1, a1w2]);
    // A dead receiver on w1 for channel a delays neither w2 nor channel b.
    await store().recordAttempt(a1w1 as number, outcome('pending', T0 + 10, { nextAttemptAt: NOW + 1000 }));
    await store().recordAttempt(a1w2 as number, outcome('delivered', T0 + 10));
    await store().recordAttempt(b1 as number, outcome('delivered', T0 + 10));
    expect(await dueIds()).toEqual([a2w2, b2]);
    expect(await dueIds(NOW + 1000)).toEqual([a2w2, b2, a1w1]);
    expect(a2w1).toBeGreaterThan(a1w1 as number);
  });

  it('records each attempt: count, status, due time, last result and delivery time', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], T0);
    const [d] = await ofChannel(a.id);
    const id = (d as Delivery).id;

    const refused = { nextAttemptAt: T0 + 3000, lastStatus: null, lastError: 'ECONNREFUSED' };
    await store().recordAttempt(id, outcome('pending', T0 + 1, refused));
    expect(await store().getDelivery(id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAttemptAt: T0 + 3000,
      updatedAt: T0 + 1,
      deliveredAt: null,
      lastStatus: null,
      lastError: 'ECONNREFUSED',
    });
    expect(await store().nextDeliveryDue()).toBe(T0 + 3000);

    await store().recordAttempt(id, outcome('delivered', T0 + 3001, { lastStatus: 204 }));
    const { body: _body, ...delivered } = (await store().getDelivery(id)) as DueDelivery;
    expect(delivered).toStrictEqual({
      ...d,
      status: 'delivered',
      attempts: 2,
      nextAttemptAt: T0 + 3001,
      updatedAt: T0 + 3001,
      deliveredAt: T0 + 3001,
      lastStatus: 204,
      lastError: null,
    });
    expect(await store().nextDeliveryDue()).toBeNull();
    await expect(store().recordAttempt(id + 1000, outcome('delivered', T0))).resolves.toBeUndefined();
    expect(await store().getDelivery(id + 1000)).toBeNull();
  });

  it("answers a delivery with its event's body exactly as stored", async () => {
    const a = await store().createChannel(newChannel());
    const body = { ...TRICKY_JSON, messages: [{ text: { body: 'nul \u0000 inside' } }], channel_id: a.id };
    await store().commitChange({
      channelId: a.id,
      events: [{ name: 'messages.post', body, createdAt: T0, targets: [target('https://one.test/hook')] }],
    });
    const [due] = await store().dueDeliveries(NOW, 10);
    expect(due?.body).toBe(JSON.stringify(body));
    expect(due?.eventName).toBe('messages.post');
    expect((await store().getDelivery(due?.id as number))?.body).toBe(JSON.stringify(body));
  });

  it("deletes a channel's deliveries with the channel, and only those", async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await emit(a.id, [target('https://one.test/hook')], T0 + 1, T0 + 2);
    await emit(b.id, [target('https://one.test/hook')], T0 + 3);
    const gone = (await ofChannel(a.id))[0] as Delivery;
    expect(await store().deleteChannel(a.id)).toBe(true);

    expect(await store().getDelivery(gone.id)).toBeNull();
    await store().recordAttempt(gone.id, outcome('delivered', NOW)); // the dispatcher was mid-attempt
    expect((await store().listDeliveries({}, { count: 10, offset: 0 })).deliveries.map((d) => d.channelId)).toEqual([
      b.id,
    ]);
    expect(await store().outboxDepth()).toStrictEqual({ pending: 1, oldestCreatedAt: T0 + 3 });
    expect(await store().replayDeliveries([gone.id], NOW)).toEqual([]);
  });
}
