import type { ClusterStore, Fence } from './cluster.js';
import type { MediaStore } from './media.js';
import type { EventName, HistoryEntry, StatusText, User } from '@wagate/protocol';

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
  /**
   * Several nodes: the channel is to be started by whichever node first takes its lease (kept
   * with the lease, written with the channel, so no placement can miss it). Ignored by SQLite.
   */
  startOnPlacement?: boolean;
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
  /** The webhooks to deliver it to; one delivery row each, in the same transaction. */
  targets?: DeliveryTarget[];
}

/** A webhook as its settings stood when the event was written (a delivery keeps its own copy). */
export interface DeliveryTarget {
  url: string;
  mode: 'body' | 'path' | 'method';
  headers: Record<string, string>;
  secret: string | null;
  /** Give up (status `failed`) this long after the delivery was created. */
  maxAgeSeconds: number;
  /** Deliveries of one queue go out one at a time, in order. */
  ordered: boolean;
  backoffDelayMs: number;
  maxBackoffDelayMs: number;
}

/** `cancelled`: its webhook left the channel's settings before it was delivered (kept in the log). */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

/** One event on its way to one webhook. */
export interface Delivery {
  id: number;
  eventSeq: number;
  channelId: string;
  eventName: EventName;
  target: DeliveryTarget;
  /** `channelId` + webhook url + mode: deliveries of one queue keep their order. */
  queueKey: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number; // unix ms
  createdAt: number; // unix ms
  updatedAt: number; // unix ms
  deliveredAt: number | null;
  lastStatus: number | null; // the last HTTP status, if an answer came
  lastError: string | null;
  /** The delivery this one replays, if it is a replay. */
  replayOf: number | null;
}

/** A delivery with its event's wire body, exactly as stored. */
export interface DueDelivery extends Delivery {
  body: string;
}

/** A node claiming delivery queues, and until when its claims last (unix ms). */
export interface ClaimHolder {
  node: string;
  until: number;
}

/** The outcome of one attempt, as the dispatcher decided it. */
export interface AttemptResult {
  status: DeliveryStatus;
  nextAttemptAt: number;
  at: number;
  lastStatus: number | null;
  lastError: string | null;
  /** How long the request took, when one was made (an expired delivery is given up unsent). */
  durationMs?: number | null;
  /** The first bytes of the receiver's answer (`DELIVERY_ANSWER_BYTES` at most), when one came. */
  answer?: string | null;
}

/** One attempt of a delivery as the log keeps it: numbered from 1, with its answer. */
export interface DeliveryAttemptRecord {
  attempt: number;
  at: number; // unix ms
  status: number | null;
  error: string | null;
  durationMs: number | null;
  answer: string | null;
}

/** Rows created before these times (unix ms) may be pruned. */
export interface RetentionCutoffs {
  deliveries: number;
  events: number;
  history: number;
}

export interface PruneCounts {
  deliveries: number;
  events: number;
  history: number;
}

/** Which pending deliveries of a channel `cancelDeliveries` cancels. */
export type CancelFilter = { channelId: string; exceptQueues: string[] } | { channelId: string; id: number };

export interface DeliveryFilter {
  channelId?: string;
  status?: DeliveryStatus;
  /** created_at >= since (unix ms) */
  since?: number;
  /** created_at < until (unix ms) */
  until?: number;
  /** Only the deliveries after this one in the log's order (keyset paging: the last id of a page). */
  before?: number;
}

/** A page of the delivery log; `total` counts at most 10,000 matches (`totalCapped` past that). */
export interface DeliveryPage {
  deliveries: Delivery[];
  total: number;
  totalCapped: boolean;
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
  /**
   * Kept with the channel in the same transaction (`lastChangeId`), so a writer whose COMMIT
   * answer was lost with its connection can tell whether the change landed before retrying it.
   */
  changeId?: string;
  snapshot?: ChannelRuntimeSnapshot;
  history?: HistoryEntry[];
  events?: OutboundEvent[];
  wipeCredentials?: boolean;
  /** Messages to insert, or to replace when one with the same id exists (a status moved on). */
  messages?: StoredMessage[];
  /** Chats whose last message changed (insert, or update: a null name keeps the old one). */
  chats?: ChatUpsert[];
  /** The answer to a send made with an Idempotency-Key, kept with the message it sent. */
  idempotency?: IdempotencyRecord;
  /** The lease it is written under (several nodes): refused with LeaseLostError once stale. */
  fence?: Fence;
}

/** A message as kept: Whapi's `Message` object, plus the columns it is found by. */
export interface StoredMessage {
  id: string;
  chatId: string;
  fromMe: boolean;
  /** unix seconds, as in the Message */
  timestamp: number;
  /** the Message object, exactly as answered */
  message: Record<string, unknown>;
}

/** A chat's new last message. `unreadDelta` adds to its unread count (inbound messages). */
export interface ChatUpsert {
  chatId: string;
  type: 'contact' | 'group' | 'broadcast' | 'newsletter' | 'unknown';
  name: string | null;
  timestamp: number; // unix seconds
  /** The id of a message in the same change (or already stored). */
  lastMessageId: string;
  unreadDelta: number;
}

export interface ChatRecord {
  id: string;
  type: ChatUpsert['type'];
  name: string | null;
  timestamp: number;
  unread: number;
  /** The last message as it stands now (read from the messages table). */
  lastMessage: Record<string, unknown> | null;
}

export interface IdempotencyRecord {
  key: string;
  /** A hash of the request, so a key reused for another request is told apart. */
  requestHash: string;
  /** The HTTP status and JSON body answered the first time. */
  status: number;
  response: Record<string, unknown>;
  createdAt: number; // unix ms
}

export interface MessageFilter {
  chatId?: string;
  fromMe?: boolean;
  /** unix seconds, inclusive */
  timeFrom?: number;
  /** unix seconds, inclusive */
  timeTo?: number;
  /** The sender's phone number (the Message's `from`). */
  author?: string;
  /** Oldest first with `asc`; newest first otherwise. */
  sort?: 'asc' | 'desc';
}

export interface Page {
  count: number;
  offset: number;
}

/** The persistence seam. SQLite and PostgreSQL implement it and pass one contract suite. */
/** Single-use event-stream tickets by hash, shared by every node. */
export interface TicketStore {
  issue(hash: string, expiresAt: number, now: number): Promise<void>;
  /** Whether the ticket was issued and is unexpired; it is used up by this call either way. */
  redeem(hash: string, now: number): Promise<boolean>;
}

export interface Store extends ProxyStore {
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
  /** The `changeId` of the channel's last committed change that had one (null: none). */
  lastChangeId(channelId: string): Promise<string | null>;
  /** Writes and reads back a probe row: answers only when the store takes writes (readiness). */
  probeWrite(): Promise<void>;
  /** The status history, newest first. */
  listHistory(channelId: string, page: Page): Promise<{ history: HistoryEntry[]; total: number }>;
  /** History rows at or after `since` (unix ms), oldest first. */
  historySince(channelId: string, since: number): Promise<HistoryEntry[]>;
  /** The highest event seq written so far (0 when none): where a live stream starts. */
  lastEventSeq(): Promise<number>;
  /** Events of one channel (or all when channelId is null) with seq > afterSeq, oldest first. */
  listEvents(channelId: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]>;

  /** Engine credentials: an opaque key-value map per channel (values are engine-serialised). */
  getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>>;
  /** Sets (string) or deletes (null) keys atomically; with a fence, only while its lease holds. */
  setCredentials(channelId: string, entries: Record<string, string | null>, fence?: Fence): Promise<void>;
  wipeCredentials(channelId: string, fence?: Fence): Promise<void>;

  /**
   * Deliveries ready to go at `now`, oldest due first: every due delivery of an unordered
   * queue, and of an ordered queue only its head (its lowest pending id) when the head is due.
   */
  dueDeliveries(now: number, limit: number): Promise<DueDelivery[]>;
  /**
   * The earliest `nextAttemptAt` among the deliveries that could go, as `dueDeliveries` picks
   * them: every pending delivery of an unordered queue, and each ordered queue's head (its
   * lowest pending id). Rows waiting behind a head do not count. null only when nothing is pending.
   */
  nextDeliveryDue(): Promise<number | null>;
  /**
   * Claims what can go now, as a batch: what `dueDeliveries` answers, and behind each due head
   * of an ordered queue the next pending rows of that queue, up to `perQueue` rows per queue,
   * each queue's rows in id order, leaving out the queues in `held` (those the caller is
   * already sending). With `holder` (several nodes on one database), it answers only queues no
   * other node holds a live claim on, and claims them for `holder` until `holder.until`.
   */
  claimDeliveries(now: number, limit: number, perQueue: number, held: string[], holder?: ClaimHolder): Promise<DueDelivery[]>;
  /**
   * The pending rows of each queue in `keys`, due or not, up to `perQueue` per queue, in id
   * order: how the dispatcher learns a queue it does not hold yet. With `holder`, only of the
   * queues it could claim (claimed first, then read, so no row another node finished is answered).
   */
  claimQueues(keys: string[], perQueue: number, now: number, holder?: ClaimHolder): Promise<DueDelivery[]>;
  /** Extends `node`'s claims on `keys` to `until`; answers the keys it still holds. */
  renewDeliveryClaims(node: string, keys: string[], until: number): Promise<string[]>;
  /** Lets other nodes claim these queues (their rows' outcomes are durable). */
  releaseDeliveryClaims(node: string, keys: string[]): Promise<void>;
  /**
   * Hands every delivery this store instance writes (changes, replays) to `listener` once it is
   * committed, each queue's rows in id order, so a dispatcher need not read back what was just
   * written. Answers the function that stops it.
   */
  watchDeliveries(listener: (rows: DueDelivery[]) => void): () => void;
  /** Records an attempt's outcome: attempts + 1, the new status, due time and last result. */
  recordAttempt(id: number, result: AttemptResult): Promise<void>;
  /** True when writes handed over in one turn share one transaction anyway (SQLite's group commit). */
  readonly groupsWrites?: boolean;
  /** Records many outcomes in one transaction: all of them durable, or none. */
  recordAttempts(outcomes: Array<{ id: number; result: AttemptResult }>): Promise<void>;
  getDelivery(id: number): Promise<DueDelivery | null>;
  /** The latest `limit` attempts of a delivery, newest first (they go with the delivery when it is pruned). */
  listDeliveryAttempts(id: number, limit: number): Promise<DeliveryAttemptRecord[]>;
  /** Deliveries newest first (created_at, then id), filtered and paged. */
  listDeliveries(filter: DeliveryFilter, page: Page): Promise<DeliveryPage>;
  /**
   * Queues a fresh pending copy of each delivery (same event), due at `now`; `targets[i]`, when
   * given, replaces the target of `ids[i]`'s copy (the webhook as it is now; same url and mode).
   */
  replayDeliveries(ids: number[], now: number, targets?: DeliveryTarget[]): Promise<Delivery[]>;
  /**
   * Marks pending deliveries of a channel `cancelled` with `reason`: those of queues not in
   * `exceptQueues` (webhooks that left its settings), or only delivery `id`. Answers how many.
   */
  cancelDeliveries(which: CancelFilter, reason: string, now: number): Promise<number>;
  /** Marks every pending delivery of a queue failed with `reason` (the webhook was disabled). */
  failQueue(queueKey: string, reason: string, now: number): Promise<number>;
  /** Pending deliveries and the creation time of the oldest (metrics). */
  outboxDepth(): Promise<{ pending: number; oldestCreatedAt: number | null }>;
  /**
   * Deletes at most `batch` rows of each kind older than its cutoff (unix ms), each kind in its
   * own short transaction: finished deliveries (never a pending one), events no delivery still
   * needs, and status history. Answers how many of each went; call again until all are below `batch`.
   */
  prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts>;
  /**
   * After a sweep that deleted `pruned`: makes the freed space reusable where the database does
   * not on its own (PostgreSQL with autovacuum off). Absent: nothing to do (SQLite reuses pages).
   */
  reclaim?(pruned: PruneCounts): Promise<void>;

  /** Messages newest first (timestamp, then insertion; oldest first with `sort: 'asc'`), filtered and paged. */
  listMessages(channelId: string, filter: MessageFilter, page: Page): Promise<{ messages: StoredMessage[]; total: number }>;
  getMessage(channelId: string, id: string): Promise<StoredMessage | null>;
  /** Chats by latest activity first. */
  listChats(channelId: string, page: Page): Promise<{ chats: ChatRecord[]; total: number }>;
  getChat(channelId: string, chatId: string): Promise<ChatRecord | null>;
  /** The first answer given for this key, if it was made at or after `since` (unix ms). */
  getIdempotency(channelId: string, key: string, since: number): Promise<IdempotencyRecord | null>;
  /** Deletes idempotency records older than `before` (unix ms); answers how many. */
  pruneIdempotency(before: number): Promise<number>;

  /** Media files and their bytes (uploads, sent and received media). */
  readonly media: MediaStore;
  /** Nodes and leases (PostgreSQL); absent on SQLite, where one process holds the data directory. */
  readonly cluster?: ClusterStore;
  /** From now on an owner-only write without a fence is refused (the store serves a node). */
  requireFences?(): void;
  /** Event-stream tickets every node can redeem (PostgreSQL); absent on SQLite, where they live in the one process. */
  readonly tickets?: TicketStore;

  /** Gateway-wide values (the admin token's hash). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}

/** A proxy of the partner's pool (SPEC §11). Its URL may carry credentials: never log it. */
export interface ProxyRecord {
  id: string;
  /** socks5://, socks5h:// or http:// */
  url: string;
  label: string;
  region: string | null;
  /** A quarantined proxy gets no new channels; it is probed before release. */
  state: 'active' | 'quarantined';
  stateReason: string | null;
  stateSince: number; // unix ms
  createdAt: number; // unix ms
}

/** The pool's persistence: proxies and which one each `auto` channel is on. */
export interface ProxyStore {
  /** Every proxy, oldest first. */
  listProxies(): Promise<ProxyRecord[]>;
  /** Inserts the proxy, or replaces the one with its id. */
  saveProxy(proxy: ProxyRecord): Promise<void>;
  /** Deletes a proxy and its channels' assignments; answers whether it existed. */
  deleteProxy(id: string): Promise<boolean>;
  /** Every channel's pool proxy. */
  proxyAssignments(): Promise<Array<{ channelId: string; proxyId: string }>>;
  /** Puts a channel on a pool proxy, or (null) off the pool. */
  assignProxy(channelId: string, proxyId: string | null): Promise<void>;
}
