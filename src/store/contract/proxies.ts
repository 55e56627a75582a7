import { expect, it } from 'vitest';
import type { ProxyRecord, Store } from '../types.js';
import { T0, newChannel } from './fixtures.js';

const proxy = (id: string, overrides: Partial<ProxyRecord> = {}): ProxyRecord => ({
  id,
  url: `socks5://user:pass@127.0.0.1:10${id.length}0`,
  label: `proxy ${id}`,
  region: null,
  state: 'active',
  stateReason: null,
  stateSince: T0,
  createdAt: T0 + id.length,
  ...overrides,
});

/** The proxy pool: proxies, their state, and which pool proxy each channel is on. */
export function proxyContract(store: () => Store): void {
  it('saves proxies, replaces one by id, and lists them oldest first', async () => {
    await store().saveProxy(proxy('px_bb', { createdAt: T0 + 2, region: 'eu' }));
    await store().saveProxy(proxy('px_a', { createdAt: T0 + 1 }));
    await store().saveProxy(proxy('px_a', { createdAt: T0 + 1, state: 'quarantined', stateReason: 'flapping', stateSince: T0 + 99, label: 'renamed' }));
    const all = await store().listProxies();
    expect(all.map((p) => p.id)).toEqual(['px_a', 'px_bb']);
    expect(all[0]).toStrictEqual(proxy('px_a', { createdAt: T0 + 1, state: 'quarantined', stateReason: 'flapping', stateSince: T0 + 99, label: 'renamed' }));
    expect(all[1]!.region).toBe('eu');
  });

  it('assigns channels to proxies, moves and removes them', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await store().saveProxy(proxy('px_1'));
    await store().saveProxy(proxy('px_22'));
    await store().assignProxy(a.id, 'px_1');
    await store().assignProxy(b.id, 'px_1');
    await store().assignProxy(a.id, 'px_22');
    expect(await store().proxyAssignments()).toEqual([
      { channelId: a.id, proxyId: 'px_22' },
      { channelId: b.id, proxyId: 'px_1' },
    ]);
    await store().assignProxy(b.id, null);
    expect(await store().proxyAssignments()).toEqual([{ channelId: a.id, proxyId: 'px_22' }]);
  });

  it('deleting a proxy or a channel drops the assignment', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await store().saveProxy(proxy('px_1'));
    await store().saveProxy(proxy('px_22'));
    await store().assignProxy(a.id, 'px_1');
    await store().assignProxy(b.id, 'px_22');
    expect(await store().deleteProxy('px_1')).toBe(true);
    expect(await store().deleteProxy('px_1')).toBe(false);
    await store().deleteChannel(b.id);
    expect(await store().proxyAssignments()).toEqual([]);
    expect((await store().listProxies()).map((p) => p.id)).toEqual(['px_22']);
  });
}
