import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { HistoryEntry } from '@wagate/protocol';
import { UnknownChannelError } from '../errors.js';
import { CHANNEL_COLUMNS, channelFromRow, initialRecord, limitOffset, patchColumns, type ChannelRow } from '../rows.js';
import type { AttemptResult, ChannelChange, ChannelPatch, ChannelRecord, ChatRecord, Delivery } from '../types.js';
import type { DeliveryAttemptRecord, DeliveryFilter, DueDelivery, IdempotencyRecord, MessageFilter, NewChannel, Page } from '../types.js';
import type { DeliveryPage, PruneCounts, RetentionCutoffs } from '../types.js';
import type { CancelFilter, ClaimHolder, DeliveryTarget, ProxyRecord, Store, StoredEvent, StoredMessage } from '../types.js';
import { SqliteHistory } from './history.js';
import { SqliteProxies } from './proxies.js';
import { SqliteMedia } from './media.js';
import { SqliteMessages } from './messages.js';
import { SqliteOutbox } from './outbox.js';
import { SqliteRetention } from './retention.js';
import { applySqliteMigrations } from './migrate.js';
import { GroupCommit } from './group-commit.js';
import { Checkpointer } from './checkpointer.js';

export interface SqliteStoreOptions {
  /** `full` (default) or `normal`: see the constructor. */
  synchronous?: 'full' | 'normal';
}

/** Group commits after which WAL checkpoints move to their thread (a store that writes little never starts it). */
const CHECKPOINTER_AFTER_COMMITS = 100;

/** How long a write waits for another process's lock before failing (ms). */
const BUSY_TIMEOUT_MS = 5000;

const parseJson = (value: unknown): unknown => JSON.parse(value as string);

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every
 * statement runs inside one tick; the methods are async to honour the Store interface (a thrown
 * error becomes a rejection), and the group commit's writes and reads for sending also wait
 * for it (group-commit.ts).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly groupsWrites = true;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly outbox: SqliteOutbox;
  private readonly retention: SqliteRetention;
  private readonly history: SqliteHistory;
  private readonly messages: SqliteMessages;
  private readonly proxies: SqliteProxies;
  private readonly watchers = new Set<(rows: DueDelivery[]) => void>();
  /** Changes and delivery outcomes of one turn share a transaction (one WAL sync). */
  readonly group: GroupCommit;
  /** WAL checkpoints on a thread of their own (file databases). */
  private readonly checkpointer: Checkpointer | null;
  readonly media: SqliteMedia;

  /** Opens (creating if needed) the database file at `path` and its parent directory. */
  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL syncs the WAL on every commit, so an acknowledged write survives a power loss too
    // (a group of delivery outcomes syncs it off the event loop before it is answered);
    // NORMAL survives a process crash only (WAGATE_SQLITE_SYNCHRONOUS=normal, for speed).
    this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // A group commit's savepoints journal in memory, not in a temporary file (a third of its writes' cost).
    this.db.pragma('temp_store = MEMORY');
    // Off by default in SQLite; the cascades and the outbox's references depend on it.
    this.db.pragma('foreign_keys = ON');
    const prepare = (sql: string, pluck?: boolean): Database.Statement => this.stmt(sql, pluck);
    this.outbox = new SqliteOutbox(this.db, prepare);
    this.retention = new SqliteRetention(prepare);
    this.history = new SqliteHistory(prepare);
    this.messages = new SqliteMessages(prepare);
    this.proxies = new SqliteProxies(prepare);
    this.media = new SqliteMedia(prepare);
    this.group = new GroupCommit(this.db, opts.synchronous === 'normal' || path === ':memory:' ? null : `${path}-wal`);
    this.checkpointer = path !== ':memory:' ? new Checkpointer(this.db, path) : null;
  }

  async migrate(): Promise<void> {
    applySqliteMigrations(this.db);
  }

  async ping(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  /**
   * Caps the database at its current size (`PRAGMA max_page_count`), so that writes needing
   * more room fail with SQLITE_FULL as on a full disk; null lifts the cap. For fault tests.
   */
  capSize(capped: boolean): void {
    const pages = capped ? (this.db.pragma('page_count', { simple: true }) as number) : 4_294_967_294;
    this.db.pragma(`max_page_count = ${pages}`);
  }

  async probeWrite(): Promise<void> {
    // Written in a transaction like every change, so a full disk or a lost lock fails it.
    this.db.transaction(() => {
      this.stmt(`INSERT INTO meta (key, value) VALUES ('readiness_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(String(Date.now()));
    })();
  }

  async lastChangeId(channelId: string): Promise<string | null> {
    const row = this.stmt('SELECT last_change_id FROM channels WHERE id = ?').get(channelId) as { last_change_id: string | null } | undefined;
    return row?.last_change_id ?? null;
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.group.flush();
    await this.checkpointer?.close();
    this.db.close();
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord> {
    const r = initialRecord(channel);
    this.stmt(`INSERT INTO channels (${CHANNEL_COLUMNS}) VALUES (${Array(14).fill('?').join(', ')})`).run(
      r.id,
      r.name,
      r.engine,
      r.tokenHash,
      r.createdAt,
      r.stopped ? 1 : 0,
      JSON.stringify(r.settings),
      JSON.stringify(r.engineOptions),
      r.status,
      r.statusReason,
      r.statusDetail,
      r.statusSince,
      r.startAt,
      r.user === null ? null : JSON.stringify(r.user),
    );
    // Read back rather than echo the input, so the caller holds no alias of its own objects.
    return this.channelWhere('id', r.id) as ChannelRecord;
  }

  async getChannel(id: string): Promise<ChannelRecord | null> {
    return this.channelWhere('id', id);
  }

  async findChannelByTokenHash(tokenHash: string): Promise<ChannelRecord | null> {
    return this.channelWhere('token_hash', tokenHash);
  }

  async listChannels(page: Page): Promise<{ channels: ChannelRecord[]; total: number }> {
    const rows = this.stmt(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id LIMIT ? OFFSET ?`).all(
      ...limitOffset(page),
    ) as ChannelRow[];
    const total = this.stmt('SELECT count(*) FROM channels', true).get() as number;
    return { channels: rows.map((row) => channelFromRow(row, parseJson)), total };
  }

  async allChannels(): Promise<ChannelRecord[]> {
    const rows = this.stmt(`SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id`).all() as ChannelRow[];
    return rows.map((row) => channelFromRow(row, parseJson));
  }

  async updateChannel(id: string, patch: ChannelPatch): Promise<boolean> {
    const columns = patchColumns(patch);
    if (columns.length === 0) return this.channelExists(id);
    const assignments = columns.map((c) => `${c.column} = ?`).join(', ');
    const values = columns.map((c) => (typeof c.value === 'boolean' ? Number(c.value) : c.value));
    return this.stmt(`UPDATE channels SET ${assignments} WHERE id = ?`).run(...values, id).changes > 0;
  }

  async deleteChannel(id: string): Promise<boolean> {
    // History, events, deliveries, credentials, messages, chats and idempotency keys go by
    // ON DELETE CASCADE, in the same statement.
    return this.stmt('DELETE FROM channels WHERE id = ?').run(id).changes > 0;
  }

  /** The change's snapshot and change id in one UPDATE, whose row count says whether the channel exists. */
  private writeSnapshot(change: ChannelChange): boolean {
    const { channelId, snapshot, changeId } = change;
    if (!snapshot) {
      return changeId ? this.stmt('UPDATE channels SET last_change_id = ? WHERE id = ?').run(changeId, channelId).changes > 0 : this.channelExists(channelId);
    }
    const update = this.stmt(
      `UPDATE channels SET status = ?, status_reason = ?, status_detail = ?, status_since = ?, start_at = ?,
         linked_user = ?, last_change_id = COALESCE(?, last_change_id) WHERE id = ?`,
    );
    const user = snapshot.user === null ? null : JSON.stringify(snapshot.user);
    return update.run(snapshot.status, snapshot.statusReason, snapshot.statusDetail, snapshot.statusSince, snapshot.startAt, user, changeId ?? null, channelId).changes > 0;
  }

  async commitChange(change: ChannelChange): Promise<void> {
    const written = await this.group.run(() => {
      const { channelId } = change;
      if (!this.writeSnapshot(change)) throw new UnknownChannelError(channelId);
      this.history.insert(channelId, change.history ?? []);
      if (change.wipeCredentials) this.stmt('DELETE FROM credentials WHERE channel_id = ?').run(channelId);
      this.messages.write(channelId, change);
      // The outbox: each event with its deliveries, in order, inside this same transaction.
      return this.outbox.insertEvents(channelId, change.events ?? []);
    });
    this.wrote();
    this.handOff(written);
  }

  /**
   * Answers rows read for sending (claims, the event stream) once every commit before the read
   * is durable: a group of outcomes is visible before its WAL sync (off the loop) returns, and
   * nothing may be sent on the strength of it until then.
   */
  private async durable<T>(rows: T): Promise<T> {
    await this.group.synced();
    return rows;
  }

  watchDeliveries(listener: (rows: DueDelivery[]) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** Committed deliveries to whoever watches (group commits settle in commit order). */
  private handOff(rows: DueDelivery[]): void {
    if (rows.length === 0) return;
    for (const watch of this.watchers) watch(rows);
  }

  async listHistory(channelId: string, page: Page): Promise<{ history: HistoryEntry[]; total: number }> {
    return this.history.list(channelId, page);
  }

  async historySince(channelId: string, since: number): Promise<HistoryEntry[]> {
    return this.history.since(channelId, since);
  }

  async lastEventSeq(): Promise<number> {
    return this.outbox.lastSeq();
  }

  async listEvents(channelId: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.durable(this.outbox.listEvents(channelId, afterSeq, limit));
  }

  async getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>> {
    if (keys.length === 0) return {};
    // One JSON array parameter instead of N placeholders: no limit on how many keys are asked.
    const rows = this.stmt(
      'SELECT key, value FROM credentials WHERE channel_id = ? AND key IN (SELECT value FROM json_each(?))',
    ).all(channelId, JSON.stringify(keys)) as Array<{ key: string; value: string }>;
    return Object.fromEntries(rows.map((row) => [row.key, row.value]));
  }

  async setCredentials(channelId: string, entries: Record<string, string | null>): Promise<void> {
    this.db.transaction(() => {
      if (!this.channelExists(channelId)) throw new UnknownChannelError(channelId);
      const upsert = this.stmt(
        `INSERT INTO credentials (channel_id, key, value) VALUES (?, ?, ?)
         ON CONFLICT (channel_id, key) DO UPDATE SET value = excluded.value`,
      );
      const remove = this.stmt('DELETE FROM credentials WHERE channel_id = ? AND key = ?');
      for (const [key, value] of Object.entries(entries)) {
        if (value === null) remove.run(channelId, key);
        else upsert.run(channelId, key, value);
      }
    })();
  }

  async wipeCredentials(channelId: string): Promise<void> {
    this.stmt('DELETE FROM credentials WHERE channel_id = ?').run(channelId);
  }

  async dueDeliveries(now: number, limit: number): Promise<DueDelivery[]> {
    return this.durable(this.outbox.due(now, limit));
  }

  async nextDeliveryDue(): Promise<number | null> {
    return this.outbox.nextDue();
  }

  async claimDeliveries(now: number, limit: number, perQueue: number, held: string[], holder?: ClaimHolder): Promise<DueDelivery[]> {
    return this.durable(this.outbox.claim(now, limit, perQueue, held, holder));
  }

  async claimQueues(keys: string[], perQueue: number, now: number, holder?: ClaimHolder): Promise<DueDelivery[]> {
    return this.durable(this.outbox.claimQueues(keys, perQueue, now, holder));
  }

  async renewDeliveryClaims(node: string, keys: string[], until: number): Promise<string[]> {
    return this.outbox.renewClaims(node, keys, until);
  }

  async releaseDeliveryClaims(node: string, keys: string[]): Promise<void> {
    this.outbox.releaseClaims(node, keys);
  }

  async recordAttempts(outcomes: Array<{ id: number; result: AttemptResult }>): Promise<void> {
    // No transaction of its own (a savepoint in the group's): the group rolls a failed write back alone.
    // Synced off the loop (GroupCommit), answered once durable: an outcome counts only then.
    await this.group.run(() => this.outbox.writeAttempts(outcomes), { offLoop: true });
    this.wrote();
  }

  /** A group commit landed: past the first few, checkpoints go to their own thread. */
  private wrote(): void {
    if (this.group.commits >= CHECKPOINTER_AFTER_COMMITS) this.checkpointer?.start();
  }

  async recordAttempt(id: number, result: AttemptResult): Promise<void> {
    this.outbox.recordAttempt(id, result);
  }

  async getDelivery(id: number): Promise<DueDelivery | null> {
    return this.durable(this.outbox.get(id));
  }

  async listDeliveryAttempts(id: number, limit: number): Promise<DeliveryAttemptRecord[]> {
    return this.outbox.attempts(id, limit);
  }

  async listDeliveries(filter: DeliveryFilter, page: Page): Promise<DeliveryPage> {
    return this.outbox.list(filter, page);
  }

  async replayDeliveries(ids: number[], now: number, targets?: DeliveryTarget[]): Promise<Delivery[]> {
    const copies = this.outbox.replay(ids, now, targets);
    this.handOff(copies.flatMap((c) => this.outbox.get(c.id) ?? []));
    return copies;
  }

  async prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts> {
    return this.retention.prune(cutoffs, batch);
  }

  async cancelDeliveries(which: CancelFilter, reason: string, now: number): Promise<number> {
    return this.outbox.cancel(which, reason, now);
  }

  async failQueue(queueKey: string, reason: string, now: number): Promise<number> {
    return this.outbox.failQueue(queueKey, reason, now);
  }

  async outboxDepth(): Promise<{ pending: number; oldestCreatedAt: number | null }> {
    return this.outbox.depth();
  }

  async listMessages(
    channelId: string,
    filter: MessageFilter,
    page: Page,
  ): Promise<{ messages: StoredMessage[]; total: number }> {
    return this.messages.list(channelId, filter, page);
  }

  async getMessage(channelId: string, id: string): Promise<StoredMessage | null> {
    return this.messages.get(channelId, id);
  }

  async listChats(channelId: string, page: Page): Promise<{ chats: ChatRecord[]; total: number }> {
    return this.messages.listChats(channelId, page);
  }

  async getChat(channelId: string, chatId: string): Promise<ChatRecord | null> {
    return this.messages.getChat(channelId, chatId);
  }

  async getIdempotency(channelId: string, key: string, since: number): Promise<IdempotencyRecord | null> {
    return this.messages.getIdempotency(channelId, key, since);
  }

  async pruneIdempotency(before: number): Promise<number> {
    return this.messages.pruneIdempotency(before);
  }

  async listProxies(): Promise<ProxyRecord[]> {
    return this.proxies.list();
  }

  async saveProxy(proxy: ProxyRecord): Promise<void> {
    this.proxies.save(proxy);
  }

  async deleteProxy(id: string): Promise<boolean> {
    return this.proxies.delete(id);
  }

  async proxyAssignments(): Promise<Array<{ channelId: string; proxyId: string }>> {
    return this.proxies.assignments();
  }

  async assignProxy(channelId: string, proxyId: string | null): Promise<void> {
    this.proxies.assign(channelId, proxyId);
  }

  async getMeta(key: string): Promise<string | null> {
    const value = this.stmt('SELECT value FROM meta WHERE key = ?', true).get(key) as string | undefined;
    return value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
      key,
      value,
    );
  }

  private channelWhere(column: 'id' | 'token_hash', value: string): ChannelRecord | null {
    const row = this.stmt(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE ${column} = ?`).get(value) as
      | ChannelRow
      | undefined;
    return row ? channelFromRow(row, parseJson) : null;
  }

  private channelExists(id: string): boolean {
    return this.stmt('SELECT 1 FROM channels WHERE id = ?').get(id) !== undefined;
  }

  /**
   * Prepared statements, cached by text and mode; preparing lazily lets them follow migrate().
   * `pluck` statements answer the first column's value instead of a row object.
   */
  private stmt(sql: string, pluck = false): Database.Statement {
    const key = pluck ? `pluck:${sql}` : sql;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (pluck) statement.pluck();
      this.statements.set(key, statement);
    }
    return statement;
  }
}

/** Opens the SQLite store at `path` (not yet migrated). */
export function openSqliteStore(path: string): SqliteStore {
  return new SqliteStore(path);
}
