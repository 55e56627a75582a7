import { randomUUID } from 'node:crypto';
import type { Fence } from '../store/cluster.js';
import { isStoreFault, LeaseLostError, StoreUnavailableError } from '../store/errors.js';
import type { ChannelChange, OutboundEvent, Store } from '../store/types.js';
import type { Clock } from './clock.js';

/** How a change the store refused is retried: 50 ms doubling up to 2 s, until it lands. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

export interface JournalDeps {
  store: Store;
  clock: Clock;
  channelId: string;
  /** A change landed, with the events it wrote (dispatcher wake-up, streams). */
  onCommitted?: (channelId: string, events: OutboundEvent[]) => void;
  /** The store refused a change (it is kept and retried); logs and metrics. */
  onStoreFault?: (channelId: string, err: unknown) => void;
  /** The lease every change is written under (several nodes); absent with one process. */
  fence?: Fence;
  /** The store refused a change because the lease moved on: nothing more is written. */
  onLeaseLost?: (channelId: string, err: LeaseLostError) => void;
}

/** A change handed to the journal: `accepted` once it is durable or held; `durable` once it landed. */
export interface Journaled {
  accepted: Promise<void>;
  durable: Promise<void>;
}

interface Entry {
  change: ChannelChange;
  /** Fail at once on a store fault instead of being kept and retried. */
  mayFail: boolean;
  accept: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One channel's writes, in order. Normally each change is committed as it comes. When the store
 * refuses one (a full disk, a cancelled query, a dropped connection), it and every later change
 * are kept in memory, in order, and retried with backoff until they land: the channel goes on
 * living meanwhile (its status stays true), and nothing it produced is forgotten while the
 * process runs. Each change carries an id the store keeps with the channel, so a change whose
 * COMMIT answer was lost with its connection is not written twice.
 */
export class CommitJournal {
  private readonly backlog: Entry[] = [];
  private flushing = false;
  private faulted = false;
  private closing = false;
  /** Set once a change was refused for a stale lease: every later change is refused at once. */
  private lost: LeaseLostError | null = null;
  /** Pauses to cut short on close; made on the first pause (a store fault), as most journals never pause. */
  private wakers: Set<() => void> | null = null;
  private readonly idlers: Array<() => void> = [];

  constructor(private readonly deps: JournalDeps) {}

  /** True while changes are held because the store refused them. */
  get failing(): boolean {
    return this.faulted;
  }

  /**
   * Queues `change`. With `mayFail` (a write nothing depends on yet, such as an idempotency mark
   * before a send) a store fault rejects it instead, and it is refused at once while failing.
   */
  commit(change: ChannelChange, mayFail = false): Journaled {
    if (this.lost) {
      const refused = Promise.reject(this.lost);
      return { accepted: refused, durable: refused };
    }
    if (mayFail && (this.faulted || this.closing)) {
      const refused = Promise.reject(new StoreUnavailableError(this.deps.store.kind));
      return { accepted: refused, durable: refused };
    }
    let accept!: () => void;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const accepted = new Promise<void>((a, r) => {
      accept = a;
      reject = r;
    });
    const durable = new Promise<void>((res, rej) => {
      resolve = res;
      const prior = reject;
      reject = (err) => {
        prior(err);
        rej(err);
      };
    });
    // A caller that waits only for `accepted` must not see an unhandled rejection of `durable`.
    durable.catch(() => undefined);
    const fence = this.deps.fence ? { fence: this.deps.fence } : {};
    // Object.assign, not spreads: keys added after a spread are slow on Node 20 (see pendingDelivery).
    const entry: Entry = { change: Object.assign({}, change, fence, { changeId: randomUUID() }), mayFail, accept, resolve, reject };
    this.backlog.push(entry);
    if (this.faulted) accept();
    if (!this.flushing) void this.flush();
    return { accepted, durable };
  }

  /** Runs `read`, retrying store faults with backoff until it answers or the journal closes. */
  async retrying<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (!isStoreFault(err) || this.closing) throw err;
        this.deps.onStoreFault?.(this.deps.channelId, err);
        await this.pause(backoff(attempt));
      }
    }
  }

  /** Resolves once nothing is held or in flight (a stale lease's refusal counts). */
  idle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  /** Stops retrying: what is still held is given up (the process is stopping). */
  close(): void {
    this.closing = true;
    for (const wake of this.wakers ?? []) wake();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    let attempt = 0;
    while (this.backlog.length > 0) {
      const entry = this.backlog[0]!;
      try {
        await this.deps.store.commitChange(entry.change);
        this.landed(entry);
        attempt = 0;
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.refuseAll(err);
          break;
        }
        if (!isStoreFault(err) || entry.mayFail) {
          this.backlog.shift();
          entry.reject(isStoreFault(err) ? new StoreUnavailableError(this.deps.store.kind, err) : err);
          continue;
        }
        this.deps.onStoreFault?.(this.deps.channelId, err);
        if (!this.faulted) {
          this.faulted = true;
          // The whole backlog is held now: its writers may go on.
          for (const e of this.backlog) e.accept();
        }
        if (this.closing) {
          this.giveUp(err);
          break;
        }
        await this.pause(backoff(attempt++));
        if (await this.alreadyLanded(entry)) this.landed(entry);
      }
    }
    this.faulted = false;
    this.flushing = false;
    for (const idle of this.idlers.splice(0)) idle();
  }

  /** Another node owns the channel now: this and every held change are refused, never retried. */
  private refuseAll(err: LeaseLostError): void {
    this.lost = err;
    for (const e of this.backlog.splice(0)) e.reject(err);
    this.deps.onLeaseLost?.(this.deps.channelId, err);
  }

  private landed(entry: Entry): void {
    this.backlog.shift();
    entry.accept();
    entry.resolve();
    const events = entry.change.events ?? [];
    if (events.length > 0) this.deps.onCommitted?.(this.deps.channelId, events);
  }

  /** Whether the change committed after all (its COMMIT's answer was lost with the connection). */
  private async alreadyLanded(entry: Entry): Promise<boolean> {
    try {
      return (await this.deps.store.lastChangeId(this.deps.channelId)) === entry.change.changeId;
    } catch {
      return false;
    }
  }

  private giveUp(cause: unknown): void {
    for (const e of this.backlog.splice(0)) e.reject(new StoreUnavailableError(this.deps.store.kind, cause));
  }

  /** Waits `ms` on the clock, or less when the journal closes. */
  private pause(ms: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.deps.clock.clearTimeout(timer);
        this.wakers?.delete(done);
        resolve();
      };
      const timer = this.deps.clock.setTimeout(done, ms);
      (this.wakers ??= new Set()).add(done);
    });
  }
}

function backoff(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt);
}
