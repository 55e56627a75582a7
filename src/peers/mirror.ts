import type { EventEmitter } from 'node:events';
import pg from 'pg';
import type { ChannelRecord } from '../store/types.js';

/** What the mirror keeps in step with the database: this node's view of every channel. */
export interface MirrorTarget {
  /** A channel as the database has it: known here (idle) if it was not, refreshed if this node does not run it. */
  track(record: ChannelRecord): void;
  /** A channel deleted on another node: forgotten here. */
  untrack(channelId: string): void;
  /** The ids this node knows. */
  known(): Iterable<string>;
  /** Whether this node runs the channel's engine (its own view is the truth then). */
  runsHere(channelId: string): boolean;
  /** The channel as this node knows it. */
  record(channelId: string): ChannelRecord | undefined;
}

export interface MirrorDeps {
  connectionString: string;
  /** The store's schema; the notification channel is named after it, so schemas never hear each other. */
  schema?: string;
  nodeId: string;
  target: MirrorTarget;
  allChannels(): Promise<ChannelRecord[]>;
  /** One channel as the database has it (null: gone). */
  channel(channelId: string): Promise<ChannelRecord | null>;
  /** This node's 'committed' and 'revoked' signals (SPEC §10: event streams work on every node). */
  signals: EventEmitter;
  /** A changed channel is read again within this (ms); every channel at least every `fullSyncMs`. */
  refreshMs: number;
  fullSyncMs: number;
  onError(err: unknown, what: string): void;
}

/** Ids per notification: PostgreSQL caps a payload at 8000 bytes. */
const IDS_PER_NOTICE = 400;
/** More channels announced than this in one refresh: one read of every channel costs less. */
const READ_ONE_BY_ONE_MAX = 50;
const RECONNECT_MS = 1000;

/**
 * Every node's view of the channels other nodes run, kept in step through PostgreSQL's
 * LISTEN/NOTIFY: the owner announces each commit (`c`) and each revoked token (`r`); the others
 * wake their event streams (which read the events from the store) and re-read the channels
 * announced. A periodic read of every channel catches what a lost notification missed.
 */
export class ChannelMirror {
  private client: pg.Client | null = null;
  private channel = '';
  private outbox = { c: new Set<string>(), r: new Set<string>() };
  private flushing: Promise<void> | null = null;
  /** Channels announced since the last refresh: read again (alone, unless there are many). */
  private announced = new Set<string>();
  /** Notifications may have been lost (a reconnect, a failed read): read every channel. */
  private readAll = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastFull = 0;
  private syncing = false;
  private stopped = false;
  /** Known ids the last read did not find: forgotten if the next one does not either (a creation may race a read). */
  private missing = new Set<string>();

  constructor(private readonly deps: MirrorDeps) {}

  /** Listens, and starts the periodic read. */
  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => void this.sync(), this.deps.refreshMs);
    this.timer.unref();
  }

  /** Announces a commit (`c`) or a revoked token (`r`) of a channel to the other nodes. */
  publish(kind: 'c' | 'r', channelId: string): void {
    this.outbox[kind].add(channelId);
    this.flushing ??= Promise.resolve().then(() => this.flush());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.flushing?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.deps.connectionString, options: this.deps.schema ? `-c search_path=${this.deps.schema}` : undefined });
    client.on('error', (err) => this.deps.onError(err, 'node notifications connection failed'));
    client.on('end', () => {
      if (this.client === client) this.client = null;
      if (!this.stopped) setTimeout(() => void this.reconnect(), RECONNECT_MS).unref();
    });
    client.on('notification', (n) => this.receive(n.payload ?? ''));
    await client.connect();
    const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema');
    this.channel = `wagate_nodes_${rows[0]?.schema ?? 'public'}`.slice(0, 63);
    await client.query(`LISTEN "${this.channel}"`);
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    if (this.stopped || this.client) return;
    try {
      await this.connect();
      // Whatever was announced meanwhile is lost: every stream reads on from where it was.
      for (const id of this.deps.target.known()) this.deps.signals.emit('committed', id);
      this.readAll = true;
    } catch (err) {
      this.deps.onError(err, 'node notifications: reconnect failed');
      if (!this.stopped) setTimeout(() => void this.reconnect(), RECONNECT_MS).unref();
    }
  }

  /** Sends what was announced, one notification at a time on the one client, until nothing is left. */
  private async flush(): Promise<void> {
    // Gathers what the same tick announced into a few notifications.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.outbox.c.size + this.outbox.r.size > 0) {
      const batch = { c: [...this.outbox.c], r: [...this.outbox.r] };
      this.outbox.c.clear();
      this.outbox.r.clear();
      const client = this.client;
      if (!client) break;
      for (const kind of ['c', 'r'] as const) {
        for (let i = 0; i < batch[kind].length; i += IDS_PER_NOTICE) {
          const payload = JSON.stringify({ n: this.deps.nodeId, [kind]: batch[kind].slice(i, i + IDS_PER_NOTICE) });
          await client.query('SELECT pg_notify($1, $2)', [this.channel, payload]).catch((err: unknown) => this.deps.onError(err, 'node notification failed'));
        }
      }
    }
    // Cleared only now: a publish made while this flush was sending is sent by its loop, never by a second flush beside it.
    this.flushing = null;
  }

  private receive(payload: string): void {
    let notice: { n?: string; c?: string[]; r?: string[] };
    try {
      notice = JSON.parse(payload) as typeof notice;
    } catch {
      return;
    }
    if (notice.n === this.deps.nodeId) return;
    for (const id of notice.r ?? []) {
      this.deps.signals.emit('revoked', id);
      this.announced.add(id);
    }
    for (const id of notice.c ?? []) {
      this.deps.signals.emit('committed', id);
      this.announced.add(id);
    }
  }

  /** Re-reads the channels announced since the last time, and every channel every `fullSyncMs`. */
  private async sync(): Promise<void> {
    const now = Date.now();
    if (this.syncing) return;
    const all = this.readAll || now - this.lastFull >= this.deps.fullSyncMs || this.announced.size > READ_ONE_BY_ONE_MAX;
    if (!all && this.announced.size === 0) return;
    this.syncing = true;
    const ids = [...this.announced];
    this.announced.clear();
    try {
      if (all) {
        this.readAll = false;
        this.lastFull = now;
        await this.readEvery();
      } else {
        await this.readAnnounced(ids);
      }
    } catch (err) {
      if (all) this.readAll = true;
      else for (const id of ids) this.announced.add(id);
      this.deps.onError(err, 'reading the channels of other nodes failed');
    } finally {
      this.syncing = false;
    }
  }

  /** One query for every channel: the known ones it does not find are forgotten once confirmed. */
  private async readEvery(): Promise<void> {
    const records = await this.deps.allChannels();
    const { target } = this.deps;
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.id);
      if (!target.runsHere(r.id)) target.track(r);
    }
    const missing = new Set<string>();
    for (const id of [...target.known()]) {
      if (seen.has(id) || target.runsHere(id)) continue;
      if (this.missing.has(id)) target.untrack(id);
      else missing.add(id);
    }
    this.missing = missing;
  }

  /** The announced channels this node does not run, each read alone; one not found is looked for again next time. */
  private async readAnnounced(ids: string[]): Promise<void> {
    const { target } = this.deps;
    const others = ids.filter((id) => !target.runsHere(id));
    const records = await Promise.all(others.map((id) => this.deps.channel(id)));
    for (const [i, id] of others.entries()) {
      const record = records[i];
      if (target.runsHere(id)) continue;
      if (record) {
        this.missing.delete(id);
        target.track(record);
      } else if (this.missing.has(id)) {
        this.missing.delete(id);
        target.untrack(id);
      } else {
        this.missing.add(id);
        this.announced.add(id);
      }
    }
  }
}
