import { describe, expect, it } from 'vitest';
import { CredentialWriter } from './credential-writer.js';
import { MemoryCredentials } from './testing.js';

describe('CredentialWriter', () => {
  it('sends one write of many keys to the store as one call', async () => {
    const store = new MemoryCredentials();
    const writer = new CredentialWriter(store);
    await writer.write({ a: '1', b: '2', c: null });
    expect(store.setCalls).toStrictEqual([{ a: '1', b: '2', c: null }]);
  });

  it('merges writes made while one is in flight into the next call, later values winning', async () => {
    const store = new MemoryCredentials();
    store.setDelay = () => 3;
    const writer = new CredentialWriter(store);
    await Promise.all([writer.write({ a: '1' }), writer.write({ a: '2', b: '1' }), writer.write({ b: null, c: '1' })]);
    expect(store.setCalls).toStrictEqual([{ a: '1' }, { a: '2', b: null, c: '1' }]);
    expect(await store.get(['a', 'b', 'c'])).toStrictEqual({ a: '2', c: '1' });
  });

  it('never lets a later write to a key be overtaken, even when commits take random time', async () => {
    const store = new MemoryCredentials();
    let n = 0;
    store.setDelay = () => (n++ * 7919) % 5;
    const writer = new CredentialWriter(store);
    await Promise.all(Array.from({ length: 200 }, (_, i) => writer.write({ session: String(i), [`pre-key:${i}`]: 'k' })));
    expect(store.data.get('session')).toBe('199');
    expect([...store.data.keys()].filter((k) => k.startsWith('pre-key:'))).toHaveLength(200);
  });

  it('reads queued and in-flight values before they are committed', async () => {
    const store = new MemoryCredentials();
    store.setDelay = () => 5;
    await store.set({ gone: 'old', kept: 'old' });
    const writer = new CredentialWriter(store);
    const first = writer.write({ kept: 'new', gone: null });
    const second = writer.write({ added: 'queued' });
    expect(await writer.read(['kept', 'gone', 'added', 'missing'])).toStrictEqual({ kept: 'new', added: 'queued' });
    await Promise.all([first, second]);
    expect(await writer.read(['kept', 'gone', 'added'])).toStrictEqual({ kept: 'new', added: 'queued' });
  });

  it('rejects the writes of a failed call and keeps working afterwards', async () => {
    const store = new MemoryCredentials();
    const writer = new CredentialWriter(store);
    store.failNext = new Error('database is down');
    await expect(writer.write({ a: '1' })).rejects.toThrow('database is down');
    await writer.write({ a: '2' });
    expect(store.data.get('a')).toBe('2');
  });

  it('resolves idle once every write so far is committed, and wipes after them', async () => {
    const store = new MemoryCredentials();
    store.setDelay = () => 2;
    const writer = new CredentialWriter(store);
    void writer.write({ a: '1' });
    void writer.write({ b: '1' });
    await writer.idle();
    expect(await store.get(['a', 'b'])).toStrictEqual({ a: '1', b: '1' });
    void writer.write({ c: '1' });
    await writer.wipe();
    expect(store.data.size).toBe(0);
  });
});
