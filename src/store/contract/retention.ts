import { expect, it } from 'vitest';
import { VirtualClock } from '../../channel/clock.js';
import { Retention } from '../retention.js';
import type { Store } from '../types.js';
import { deliveryHelpers, outcome } from './deliveries.js';
import { historyEntry, newChannel, statusEvent, target } from './fixtures.js';

const DAY = 24 * 60 * 60_000;

/** Retention: what goes after its window, in small batches, and what never goes. */
export function retentionContract(store: () => Store): void {
  const { ofChannel } = deliveryHelpers(store);

  it('prunes finished deliveries, unneeded events and old history past their windows, never a pending delivery', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const t0 = clock.now();
    const a = await store().createChannel(newChannel({ createdAt: t0 }));
    const hook = target('https://one.test/hook', { ordered: false });
    // Day 0: three events to one webhook; one delivered, one failed, one left pending.
    for (const [i, text] of ['A', 'B', 'C'].entries()) {
      await store().commitChange({
        channelId: a.id,
        events: [{ ...statusEvent(a.id, text, t0 + i), targets: [hook] }],
        history: [historyEntry(t0 + i, 'INIT', 'LAUNCH')],
      });
    }
    const [delivered, failed, pending] = (await ofChannel(a.id)).map((d) => d.id) as [number, number, number];
    await store().recordAttempt(delivered, outcome('delivered', t0 + 10));
    await store().recordAttempt(failed, outcome('failed', t0 + 10));
    // Day 0 also: an event no webhook took.
    await store().commitChange({ channelId: a.id, events: [statusEvent(a.id, 'D', t0 + 5)] });

    const retention = new Retention({ store: store(), clock, windows: { deliveriesDays: 7, eventsDays: 7, historyDays: 90 }, batch: 2 });
    await clock.advance(7 * DAY - 1);
    expect(await retention.sweep()).toEqual({ deliveries: 0, events: 0, history: 0 });

    // Past 7 days: the finished deliveries and the events nothing needs go, in batches of 2.
    expect(await store().listDeliveryAttempts(delivered, 10)).toHaveLength(1);
    await clock.advance(10);
    expect(await retention.sweep()).toEqual({ deliveries: 2, events: 3, history: 0 });
    // Their attempts go with them.
    expect(await store().listDeliveryAttempts(delivered, 10)).toEqual([]);
    expect(await store().listDeliveryAttempts(failed, 10)).toEqual([]);
    expect((await ofChannel(a.id)).map((d) => [d.id, d.status])).toEqual([[pending, 'pending']]);
    const left = await store().listEvents(a.id, 0, 10);
    expect(left.map((e) => (e.body.health as { status: { text: string } }).status.text)).toEqual(['C']);
    expect((await store().getDelivery(pending))?.body).toContain('"C"');
    expect((await store().listHistory(a.id, { count: 10, offset: 0 })).total).toBe(3);

    // Past 90 days: the history goes too; the pending delivery and its event still stay.
    await clock.advance(83 * DAY);
    expect(await retention.sweep()).toEqual({ deliveries: 0, events: 0, history: 3 });
    expect((await ofChannel(a.id)).map((d) => d.status)).toEqual(['pending']);

    // Once it is delivered, the next sweep past its window takes it and its event.
    await store().recordAttempt(pending, outcome('delivered', clock.now()));
    expect(await retention.sweep()).toEqual({ deliveries: 1, events: 1, history: 0 });
    expect(await store().listEvents(a.id, 0, 10)).toEqual([]);
  });

  it('sweeps on its own timer in virtual time, and stops', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const a = await store().createChannel(newChannel({ createdAt: clock.now() }));
    await store().commitChange({ channelId: a.id, events: [statusEvent(a.id, 'old', clock.now())] });
    const retention = new Retention({ store: store(), clock, windows: { deliveriesDays: 1, eventsDays: 1, historyDays: 1 }, everyMs: 60 * 60_000 });
    retention.start();
    // An hour at a time: each sweep schedules the next once it is done.
    await until(async () => {
      await clock.advance(60 * 60_000);
      return (await store().listEvents(a.id, 0, 10)).length === 0;
    });
    expect(clock.now()).toBeGreaterThan(Date.UTC(2026, 0, 2));
    await retention.stop();
    await store().commitChange({ channelId: a.id, events: [statusEvent(a.id, 'new', clock.now())] });
    await clock.advance(3 * DAY);
    expect(await store().listEvents(a.id, 0, 10)).toHaveLength(1);
  });
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('retention never swept');
}
