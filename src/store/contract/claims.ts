import { expect, it } from 'vitest';
import type { DueDelivery, Store } from '../types.js';
import { NOW, deliveryHelpers } from './deliveries.js';
import { newChannel, target } from './fixtures.js';

/** Queue claims (several nodes on one outbox) and the hand-over of committed deliveries. */
export function claimContract(store: () => Store): void {
  const { emit } = deliveryHelpers(store);

  it('hands every committed delivery to a watcher, with its body, in id order', async () => {
    const a = await store().createChannel(newChannel());
    const seen: DueDelivery[] = [];
    const stop = store().watchDeliveries((rows) => seen.push(...rows));
    await emit(a.id, [target('https://one.test/hook'), target('https://two.test/hook')], NOW - 2, NOW - 1);
    stop();
    await emit(a.id, [target('https://one.test/hook')], NOW);
    expect(seen.map((d) => d.id)).toEqual([...seen.map((d) => d.id)].sort((x, y) => x - y));
    expect(seen).toHaveLength(4);
    const stored = await Promise.all(seen.map((d) => store().getDelivery(d.id)));
    expect(seen).toEqual(stored);
  });

  it('claims a queue for one node only until its claim expires or is released', async () => {
    const a = await store().createChannel(newChannel());
    await emit(a.id, [target('https://one.test/hook')], NOW - 3, NOW - 2, NOW - 1);
    const one = await store().claimDeliveries(NOW, 10, 32, [], { node: 'one', until: NOW + 1000 });
    expect(one).toHaveLength(3);
    const key = one[0]!.queueKey;
    expect(await store().claimDeliveries(NOW, 10, 32, [], { node: 'two', until: NOW + 1000 })).toEqual([]);
    expect(await store().claimQueues([key], 32, NOW, { node: 'two', until: NOW + 1000 })).toEqual([]);
    // The holder renews; another node's renewal holds nothing.
    expect(await store().renewDeliveryClaims('one', [key], NOW + 2000)).toEqual([key]);
    expect(await store().renewDeliveryClaims('two', [key], NOW + 2000)).toEqual([]);
    // Expired: the other node may take it, and then the first holds nothing.
    expect((await store().claimQueues([key], 32, NOW + 2000, { node: 'two', until: NOW + 3000 })).map((d) => d.id)).toEqual(one.map((d) => d.id));
    expect(await store().renewDeliveryClaims('one', [key], NOW + 4000)).toEqual([]);
    // Released: free at once.
    await store().releaseDeliveryClaims('two', [key]);
    expect(await store().claimQueues([key], 32, NOW + 2000, { node: 'one', until: NOW + 3000 })).toHaveLength(3);
  });
}
