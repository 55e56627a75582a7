import { expect, it } from 'vitest';
import { UnknownChannelError } from '../errors.js';
import type { Store } from '../types.js';
import { newChannel } from './fixtures.js';

/** Engine credentials, gateway meta values, migrate() and ping(). */
export function credentialContract(store: () => Store): void {
  it('answers only the credential keys that exist', async () => {
    const a = await store().createChannel(newChannel());
    await store().setCredentials(a.id, { creds: '{"me":1}', 'pre-key-1': 'AAAA' });
    expect(await store().getCredentials(a.id, ['creds', 'pre-key-1', 'pre-key-2'])).toStrictEqual({
      creds: '{"me":1}',
      'pre-key-1': 'AAAA',
    });
    expect(await store().getCredentials(a.id, [])).toStrictEqual({});
    expect(await store().getCredentials('NOPE-00000', ['creds'])).toStrictEqual({});
  });

  it('sets, overwrites and deletes (null) credentials in one call', async () => {
    const a = await store().createChannel(newChannel());
    await store().setCredentials(a.id, { one: '1', two: '2', three: '3' });
    await store().setCredentials(a.id, { one: 'uno', two: null, four: '4', missing: null });
    expect(await store().getCredentials(a.id, ['one', 'two', 'three', 'four', 'missing'])).toStrictEqual({
      one: 'uno',
      three: '3',
      four: '4',
    });
  });

  it('keeps credentials per channel and values byte for byte', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const big = 'x🙂\n"\\'.repeat(50_000);
    await store().setCredentials(a.id, { creds: big });
    await store().setCredentials(b.id, { creds: 'other' });
    expect((await store().getCredentials(a.id, ['creds'])).creds).toBe(big);
    expect(await store().getCredentials(b.id, ['creds'])).toStrictEqual({ creds: 'other' });
  });

  it('answers reads asked at once, each its own channel\'s keys only', async () => {
    const channels = await Promise.all(Array.from({ length: 20 }, () => store().createChannel(newChannel())));
    await Promise.all(channels.map((c, i) => store().setCredentials(c.id, { creds: `c${i}`, [`k${i}`]: `v${i}`, shared: `s${i}` })));
    // Each asks for its own key, another channel's key and a key none has.
    const answers = await Promise.all(channels.map((c, i) => store().getCredentials(c.id, ['creds', `k${i}`, `k${(i + 1) % 20}`, 'none'])));
    expect(answers).toStrictEqual(channels.map((_, i) => ({ creds: `c${i}`, [`k${i}`]: `v${i}` })));
    expect(await Promise.all([store().getCredentials(channels[0]!.id, ['shared']), store().getCredentials(channels[0]!.id, ['creds'])])).toStrictEqual([
      { shared: 's0' },
      { creds: 'c0' },
    ]);
  });

  it('refuses credentials for a missing channel', async () => {
    await expect(store().setCredentials('GONE-00000', { creds: 'x' })).rejects.toBeInstanceOf(UnknownChannelError);
    expect(await store().getCredentials('GONE-00000', ['creds'])).toStrictEqual({});
  });

  it('keeps all of 1000 concurrent writes to different keys', async () => {
    const a = await store().createChannel(newChannel());
    const keys = Array.from({ length: 1000 }, (_, i) => `pre-key-${i}`);
    await Promise.all(keys.map((key, i) => store().setCredentials(a.id, { [key]: `value ${i}` })));
    const stored = await store().getCredentials(a.id, keys);
    expect(Object.keys(stored)).toHaveLength(1000);
    expect(stored['pre-key-999']).toBe('value 999');
  });

  it('survives concurrent writers that touch the same keys in different orders', async () => {
    const a = await store().createChannel(newChannel());
    const writes = Array.from({ length: 50 }, (_, i) =>
      store().setCredentials(a.id, i % 2 ? { k1: `${i}`, k2: null, k3: `${i}` } : { k3: `${i}`, k2: `${i}`, k1: null }),
    );
    await Promise.all([...writes, store().wipeCredentials(a.id)]);
    const stored = await store().getCredentials(a.id, ['k1', 'k2', 'k3']);
    expect(Object.keys(stored).length).toBeLessThanOrEqual(3);
  });

  it('wipes one channel\'s credentials and no one else\'s; a missing channel is no error', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    await store().setCredentials(a.id, { creds: 'a', keys: 'a' });
    await store().setCredentials(b.id, { creds: 'b' });
    await store().wipeCredentials(a.id);
    expect(await store().getCredentials(a.id, ['creds', 'keys'])).toStrictEqual({});
    expect(await store().getCredentials(b.id, ['creds'])).toStrictEqual({ creds: 'b' });
    await expect(store().wipeCredentials('GONE-00000')).resolves.toBeUndefined();
  });

  it('stores gateway meta values and overwrites them', async () => {
    expect(await store().getMeta('admin_token_hash')).toBeNull();
    await store().setMeta('admin_token_hash', 'first');
    await store().setMeta('admin_token_hash', 'second');
    await store().setMeta('other', '');
    expect(await store().getMeta('admin_token_hash')).toBe('second');
    expect(await store().getMeta('other')).toBe('');
  });

  it('migrates again as a no-op that keeps the data, and answers ping', async () => {
    const a = await store().createChannel(newChannel());
    await store().setMeta('k', 'v');
    await store().migrate();
    await store().migrate();
    expect(await store().getChannel(a.id)).toStrictEqual(a);
    expect(await store().getMeta('k')).toBe('v');
    await expect(store().ping()).resolves.toBeUndefined();
    expect(['sqlite', 'postgres']).toContain(store().kind);
  });
}
