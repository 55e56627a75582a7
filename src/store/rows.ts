import type { EventName, HistoryEntry, StatusText, User } from '@wagate/protocol';
import type {
  ChannelPatch,
  ChannelRecord,
  Delivery,
  DeliveryAttemptRecord,
  DeliveryFilter,
  DeliveryStatus,
  DeliveryTarget,
  DueDelivery,
  EngineKind,
  NewChannel,
  Page,
} from './types.js';

/**
 * A `channels` row as both dialects select it. JSON columns arrive as text from SQLite and
 * already parsed from PostgreSQL, so the mapping takes the parser as an argument.
 */
export interface ChannelRow {
  id: string;
  name: string;
  engine: string;
  token_hash: string;
  created_at: number;
  stopped: number | boolean;
  settings: unknown;
  engine_options: unknown;
  status: string;
  status_reason: string;
  status_detail: string | null;
  status_since: number;
  start_at: number | null;
  linked_user: unknown;
}

/** The columns every channel query selects, in `ChannelRow` order. */
export const CHANNEL_COLUMNS =
  'id, name, engine, token_hash, created_at, stopped, settings, engine_options, status, ' +
  'status_reason, status_detail, status_since, start_at, linked_user';

/** The status reason of a channel that was created and never started. */
export const CREATED_REASON = 'created';

/** The record a new channel starts with; both dialects insert exactly this. */
export function initialRecord(channel: NewChannel): ChannelRecord {
  // Object.assign, not a spread: see pendingDelivery.
  return Object.assign({}, channel, {
    stopped: false,
    status: 'NOT_INIT' as const,
    statusReason: CREATED_REASON,
    statusDetail: null,
    statusSince: channel.createdAt,
    startAt: null,
    user: null,
  });
}

/** Maps a `channels` row to the record the rest of wagate sees. */
export function channelFromRow(row: ChannelRow, json: (value: unknown) => unknown): ChannelRecord {
  const user = row.linked_user === null ? null : (json(row.linked_user) as User);
  return {
    id: row.id,
    name: row.name,
    engine: row.engine as EngineKind,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    stopped: Boolean(row.stopped),
    settings: json(row.settings) as Record<string, unknown>,
    engineOptions: json(row.engine_options) as Record<string, unknown>,
    status: row.status as StatusText,
    statusReason: row.status_reason,
    statusDetail: row.status_detail,
    statusSince: row.status_since,
    startAt: row.start_at,
    user,
  };
}

/** One column an operator's patch changes; `json` marks the columns stored as JSON. */
export interface PatchColumn {
  column: string;
  value: string | boolean;
  json: boolean;
}

/** The columns a patch changes: absent (undefined) fields stay as they are. */
export function patchColumns(patch: ChannelPatch): PatchColumn[] {
  const columns: PatchColumn[] = [];
  if (patch.name !== undefined) columns.push({ column: 'name', value: patch.name, json: false });
  if (patch.tokenHash !== undefined) columns.push({ column: 'token_hash', value: patch.tokenHash, json: false });
  if (patch.stopped !== undefined) columns.push({ column: 'stopped', value: patch.stopped, json: false });
  if (patch.settings !== undefined) {
    columns.push({ column: 'settings', value: JSON.stringify(patch.settings), json: true });
  }
  return columns;
}

/** A `status_history` row as both dialects select it. */
export interface HistoryRow {
  at: number;
  from_status: string;
  to_status: string;
  reason: string;
  detail: string | null;
}

/** The history columns, in `HistoryRow` order. */
export const HISTORY_COLUMNS = 'at, from_status, to_status, reason, detail';

/** Maps a history row; a missing detail stays absent, as `HistoryEntry` declares it optional. */
export function historyFromRow(row: HistoryRow): HistoryEntry {
  const entry: HistoryEntry = {
    at: row.at,
    from: row.from_status as StatusText,
    to: row.to_status as StatusText,
    reason: row.reason,
  };
  if (row.detail !== null) entry.detail = row.detail;
  return entry;
}

/** LIMIT and OFFSET from a page; negative values would mean "no limit" in SQLite. */
export function limitOffset(page: Page): [limit: number, offset: number] {
  return [Math.max(0, Math.floor(page.count)), Math.max(0, Math.floor(page.offset))];
}

/**
 * The queue a delivery belongs to: one channel, one webhook (its url and mode). Deliveries of
 * one ordered queue go out one at a time, lowest id first. The dispatcher may compute it too.
 */
export function deliveryQueueKey(channelId: string, target: Pick<DeliveryTarget, 'mode' | 'url'>): string {
  return `${channelId} ${target.mode} ${target.url}`;
}

/**
 * A delivery just written: pending, due at once, never attempted. Spelled out rather than
 * `{ ...d, status, … }`: on Node 20's V8 every key added after a spread costs about 3 µs, and
 * this runs for every delivery written (it was 13 % of producing an event).
 */
export function pendingDelivery(d: Pick<DueDelivery, 'id' | 'eventSeq' | 'channelId' | 'eventName' | 'target' | 'queueKey' | 'createdAt' | 'body'>): DueDelivery {
  const at = d.createdAt;
  return {
    id: d.id,
    eventSeq: d.eventSeq,
    channelId: d.channelId,
    eventName: d.eventName,
    target: d.target,
    queueKey: d.queueKey,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at,
    createdAt: at,
    updatedAt: at,
    deliveredAt: null,
    lastStatus: null,
    lastError: null,
    replayOf: null,
    body: d.body,
  };
}

/** A `deliveries` row as both dialects select it (`body` only where the event is joined). */
export interface DeliveryRow {
  id: number;
  event_seq: number;
  channel_id: string;
  event_name: string;
  target: unknown;
  queue_key: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  last_status: number | null;
  last_error: string | null;
  replay_of: number | null;
}

const DELIVERY_COLUMN_NAMES = [
  ...['id', 'event_seq', 'channel_id', 'event_name', 'target', 'queue_key', 'status', 'attempts'],
  ...['next_attempt_at', 'created_at', 'updated_at', 'delivered_at', 'last_status', 'last_error', 'replay_of'],
];

/** The delivery columns, in `DeliveryRow` order, qualified with `alias` if given (joins need it). */
export function deliveryColumns(alias?: string): string {
  return DELIVERY_COLUMN_NAMES.map((column) => (alias ? `${alias}.${column}` : column)).join(', ');
}

/** Maps a `deliveries` row; `json` parses the target as `channelFromRow`'s does. */
export function deliveryFromRow(row: DeliveryRow, json: (value: unknown) => unknown): Delivery {
  return {
    id: row.id,
    eventSeq: row.event_seq,
    channelId: row.channel_id,
    eventName: row.event_name as EventName,
    target: json(row.target) as DeliveryTarget,
    queueKey: row.queue_key,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    replayOf: row.replay_of,
  };
}

/** A `delivery_attempts` row as both dialects select it. */
export interface AttemptRow {
  attempt: number;
  at: number;
  status: number | null;
  error: string | null;
  duration_ms: number | null;
  answer: string | null;
}

export const ATTEMPT_COLUMNS = 'attempt, at, status, error, duration_ms, answer';

/**
 * A delivery's attempts (`id` and `limit` the dialect's placeholders), newest first: its
 * delivery_attempts rows and, once it is delivered, the attempt that delivered it, kept on the
 * delivery row (unless an older schema wrote its row).
 */
export function attemptsSql(id: string, limit: string): string {
  return `
  SELECT ${ATTEMPT_COLUMNS} FROM (
    SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts WHERE delivery_id = ${id}
    UNION ALL
    SELECT attempts, delivered_at, last_status, last_error, last_duration_ms, last_answer FROM deliveries d
    WHERE d.id = ${id} AND d.status = 'delivered'
      AND NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.attempt = d.attempts)
  ) AS attempts ORDER BY attempt DESC LIMIT ${limit}`;
}

/** Maps a `delivery_attempts` row. */
export function attemptFromRow(row: AttemptRow): DeliveryAttemptRecord {
  return { attempt: row.attempt, at: row.at, status: row.status, error: row.error, durationMs: row.duration_ms, answer: row.answer };
}

const DELIVERY_STATUSES: ReadonlySet<string> = new Set<DeliveryStatus>(['pending', 'delivered', 'failed', 'cancelled']);

/** A delivery status, checked to be one, to be written into SQL as a literal. */
function statusLiteral(status: DeliveryStatus): DeliveryStatus {
  if (!DELIVERY_STATUSES.has(status)) throw new Error(`not a delivery status: ${JSON.stringify(status)}`);
  return status;
}

/**
 * The WHERE clause of a delivery listing (empty without filters) and its values in order;
 * `param(n)` writes the dialect's placeholder for the n-th value, counting from 1.
 */
export function deliveryWhere(
  filter: DeliveryFilter,
  param: (n: number) => string,
): { sql: string; values: Array<string | number> } {
  const clauses: string[] = [];
  const values: Array<string | number> = [];
  const add = (condition: (p: string) => string, value: string | number | undefined): void => {
    if (value === undefined) return;
    values.push(value);
    clauses.push(condition(param(values.length)));
  };
  add((p) => `channel_id = ${p}`, filter.channelId);
  // The status as a literal, not a parameter: the planner must see it to know which partial
  // index holds its rows (pending ones, or finished ones: PostgreSQL migration 14).
  if (filter.status !== undefined) clauses.push(`status = '${statusLiteral(filter.status)}'`);
  add((p) => `created_at >= ${p}`, filter.since);
  add((p) => `created_at < ${p}`, filter.until);
  // Keyset paging: the rows after delivery `before` in the log's order (newest first).
  add((p) => `(created_at, id) < (SELECT b.created_at, b.id FROM deliveries b WHERE b.id = ${p})`, filter.before);
  return { sql: clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`, values };
}

/**
 * The log's `total` counts at most this many matches: past it the count would walk an index of
 * a million rows on every page (tens of ms), and the answer says the total is capped instead.
 */
export const DELIVERY_COUNT_CAP = 10_000;

/**
 * The delivery log's two queries (a page newest first, without its LIMIT/OFFSET, and the total,
 * counted up to DELIVERY_COUNT_CAP + 1) and their values; `param(n)` as in deliveryWhere. The
 * log is ordered by (created_at, id), and each filter combination has an index whose order is
 * that one after its equality columns (migration 9), so neither a page nor a time range sorts.
 */
export function deliveryListSql(
  filter: DeliveryFilter,
  param: (n: number) => string,
): { list: string; count: string; values: Array<string | number> } {
  const where = deliveryWhere(filter, param);
  return {
    list: `SELECT ${deliveryColumns('d')} FROM deliveries d ${where.sql} ORDER BY d.created_at DESC, d.id DESC`,
    count: `SELECT count(*) AS total FROM (SELECT 1 FROM deliveries ${where.sql} LIMIT ${DELIVERY_COUNT_CAP + 1}) matches`,
    values: where.values,
  };
}

/** The log's total as answered: the count, capped (see DELIVERY_COUNT_CAP). */
export function cappedTotal(counted: number): { total: number; totalCapped: boolean } {
  return { total: Math.min(counted, DELIVERY_COUNT_CAP), totalCapped: counted > DELIVERY_COUNT_CAP };
}

/**
 * At most this many due rows of one unordered queue per read, so one queue's backlog cannot fill
 * the batch and hide other queues' heads; the dispatcher keeps as many attempts in flight per queue.
 */
export const UNORDERED_PER_QUEUE = 4;
