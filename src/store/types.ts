import type { EventName, HistoryEntry, StatusText, User } from '../protocol/index.js';

/** The engines a channel can run on. */
export type EngineKind = 'sandbox' | 'baileys';

/** A channel as the store keeps it. The token itself is never stored, only its hash. */
export interface ChannelRecord {
  id: string;
  name: string;
  engine: EngineKind;
  tokenHash: string;
  createdAt: number; // unix ms
  /** Set by the operator's stop; cleared by start. A stopped channel is not resumed on boot. */
  stopped: boolean;
  /** The channel's settings (SPEC §5), as validated JSON. */
  settings: Record<string, unknown>;
  /** Engine options given at creation (the sandbox's timings). */
  engineOptions: Record<string, unknown>;
  /** The last status the lifecycle recorded. */
  status: StatusText;
  statusReason: string;
  statusDetail: string | null;
  statusSince: number; // unix ms
  startAt: number | null; // unix ms; the current run's start
  user: User | null;
}

export interface NewChannel {
  id: string;
  name: string;
  engine: EngineKind;
  tokenHash: string;
  createdAt: number;
  settings: Record<string, unknown>;
  engineOptions: Record<string, unknown>;
}

/** Fields an operator action may change. */
export interface ChannelPatch {
  name?: string;
  tokenHash?: string;
  stopped?: boolean;
  settings?: Record<string, unknown>;
}

/** The lifecycle's snapshot written with each change. */
export interface ChannelRuntimeSnapshot {
  status: StatusText;
  statusReason: string;
  statusDetail: string | null;
  statusSince: number;
  startAt: number | null;
  user: User | null;
}

/** An event ready for the outbox: already wrapped in the wire envelope. */
export interface OutboundEvent {
  name: EventName;
  /** The wire envelope (`{..., event: {type, event}, channel_id}`). */
  body: Record<string, unknown>;
  createdAt: number; // unix ms
}

/** An event as stored, with its global, increasing sequence number. */
export interface StoredEvent extends OutboundEvent {
  seq: number;
  channelId: string;
}

/**
 * One atomic change to a channel: its status snapshot, its history rows, the events the change
 * produced and, optionally, the wipe of its engine credentials. A store writes all of it in one
 * transaction, so a crash never leaves a status without its events (the outbox joins here).
 */
export interface ChannelChange {
  channelId: string;
  snapshot?: ChannelRuntimeSnapshot;
  history?: HistoryEntry[];
  events?: OutboundEvent[];
  wipeCredentials?: boolean;
}

export interface Page {
  count: number;
  offset: number;
}

/** The persistence seam. SQLite and PostgreSQL implement it and pass one contract suite. */
export interface Store {
  /** Which implementation this is, for logs and /readyz. */
  readonly kind: 'sqlite' | 'postgres';
  /** Applies every pending migration; safe to call on every start. */
  migrate(): Promise<void>;
  /** Answers when the database answers (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;

  createChannel(channel: NewChannel): Promise<ChannelRecord>;
  getChannel(id: string): Promise<ChannelRecord | null>;
  findChannelByTokenHash(tokenHash: string): Promise<ChannelRecord | null>;
  /** Channels ordered by creation time, oldest first. */
  listChannels(page: Page): Promise<{ channels: ChannelRecord[]; total: number }>;
  /** Every channel (for boot). */
  allChannels(): Promise<ChannelRecord[]>;
  /** Throws nothing when the channel is missing; answers whether it existed. */
  updateChannel(id: string, patch: ChannelPatch): Promise<boolean>;
  /** Deletes the channel with its history, events and credentials. */
  deleteChannel(id: string): Promise<boolean>;

  /** Writes a change atomically (see ChannelChange). */
  commitChange(change: ChannelChange): Promise<void>;
  /** The status history, newest first. */
  listHistory(channelId: string, page: Page): Promise<{ history: HistoryEntry[]; total: number }>;
  /** History rows at or after `since` (unix ms), oldest first. */
  historySince(channelId: string, since: number): Promise<HistoryEntry[]>;
  /** Events of one channel (or all when channelId is null) with seq > afterSeq, oldest first. */
  listEvents(channelId: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]>;

  /** Engine credentials: an opaque key-value map per channel (values are engine-serialised). */
  getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>>;
  /** Sets (string) or deletes (null) keys atomically. */
  setCredentials(channelId: string, entries: Record<string, string | null>): Promise<void>;
  wipeCredentials(channelId: string): Promise<void>;

  /** Gateway-wide values (the admin token's hash). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}
