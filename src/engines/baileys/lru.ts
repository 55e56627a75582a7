import type { CacheStore } from 'baileys';

/** A map that keeps only its `capacity` most recently used entries. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

/**
 * Baileys' `CacheStore` over a bounded LRU: the signal-key cache of one connection. Unlike Baileys'
 * default (a NodeCache with a sweep interval that is never stopped), it holds no timer, so a
 * connection's cache goes with the connection.
 */
export function lruCacheStore(capacity: number): CacheStore {
  const lru = new Lru<string, unknown>(capacity);
  return {
    get: <T>(key: string) => lru.get(key) as T | undefined,
    set: <T>(key: string, value: T) => {
      lru.set(key, value);
    },
    del: (key: string) => {
      lru.delete(key);
    },
    flushAll: () => {
      lru.clear();
    },
  };
}
