import { describe, expect, it } from 'vitest';
import { Lru, lruCacheStore } from './lru.js';

describe('Lru', () => {
  it('keeps the most recently used entries within its capacity', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('b')).toBe(false);
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('overwrites, deletes and clears', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('a', 2);
    expect(lru.get('a')).toBe(2);
    lru.delete('a');
    expect(lru.get('a')).toBeUndefined();
    lru.set('b', 1);
    lru.clear();
    expect(lru.size).toBe(0);
  });
});

describe('lruCacheStore', () => {
  it('serves as Baileys\' CacheStore without copying values', async () => {
    const cache = lruCacheStore(10);
    const value = { key: Buffer.from([1, 2, 3]) };
    await cache.set('pre-key.1', value);
    expect(await cache.get('pre-key.1')).toBe(value);
    await cache.del('pre-key.1');
    expect(await cache.get('pre-key.1')).toBeUndefined();
    await cache.set('x', 1);
    await cache.flushAll();
    expect(await cache.get('x')).toBeUndefined();
  });
});
