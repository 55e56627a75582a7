import type { CredentialStore } from '../engine.js';

type Entries = Record<string, string | null>;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A channel's credential writes, applied in call order, one store call at a time. Writes made while
 * one is in flight are merged (later values win per key) into the next store call, so a burst of
 * signal-key updates costs one transaction, and no write can overtake an older one to the same key
 * (as two concurrent transactions could). Each write's keys always travel in one store call, so a
 * write is atomic. Reads see writes that are queued or in flight, so they never return a value
 * older than one already written.
 */
export class CredentialWriter {
  private pending: Entries | null = null;
  private pendingWaiters: Waiter[] = [];
  private inflight: Entries | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly store: CredentialStore) {}

  /** Sets (string) or deletes (null) `entries`; resolves once they are committed. */
  write(entries: Entries): Promise<void> {
    if (Object.keys(entries).length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending = Object.assign(this.pending ?? {}, entries);
      this.pendingWaiters.push({ resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** The values of `keys` that exist, as the last write to each left them. */
  async read(keys: string[]): Promise<Record<string, string>> {
    if (keys.length === 0) return {};
    const before = this.overlay(keys);
    const found = await this.store.get(keys);
    for (const overlay of [before, this.overlay(keys)]) {
      for (const [key, value] of overlay) {
        if (value === null) delete found[key];
        else found[key] = value;
      }
    }
    return found;
  }

  /** Resolves when every write made so far is committed (or has failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Deletes every credential of the channel, once the writes made so far are committed. */
  async wipe(): Promise<void> {
    await this.idle();
    await this.store.wipe();
  }

  /** Queued and in-flight values for `keys`, the newest last. */
  private overlay(keys: string[]): Array<[string, string | null]> {
    const out: Array<[string, string | null]> = [];
    for (const batch of [this.inflight, this.pending]) {
      if (!batch) continue;
      for (const key of keys) if (key in batch) out.push([key, batch[key] ?? null]);
    }
    return out;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const batch = this.pending;
      const waiters = this.pendingWaiters;
      this.pending = null;
      this.pendingWaiters = [];
      this.inflight = batch;
      try {
        await this.store.set(batch);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      } finally {
        this.inflight = null;
      }
    }
    this.running = null;
  }
}
