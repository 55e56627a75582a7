import type pg from 'pg';
import type { HistoryEntry } from '@wagate/protocol';
import { UnknownChannelError } from '../errors.js';
import { CHANNEL_COLUMNS, channelFromRow, initialRecord, limitOffset, patchColumns, type ChannelRow } from '../rows.js';
import type { AttemptResult, ChannelChange, ChannelPatch, ChannelRecord, Delivery } from '../types.js';
import type { DeliveryAttemptRecord, DeliveryFilter, DueDelivery, NewChannel, Page, Store, StoredEvent } from '../types.js';
import type { DeliveryPage, PruneCounts, RetentionCutoffs } from '../types.js';
import type { CancelFilter, ChatRecord, ClaimHolder, DeliveryTarget, IdempotencyRecord, MessageFilter, ProxyRecord, StoredMessage } from '../types.js';
import type { Fence } from '../cluster.js';
import { isBulkable, writeChanges } from './bulk-changes.js';
import { assertLeases, fencedOnly, PostgresCluster } from './cluster.js';
import { PostgresGroupCommit } from './group-commit.js';
import { PostgresHistory } from './history.js';
import { PostgresMedia } from './media.js';
import { PostgresMessages } from './messages.js';
import { PostgresProxies } from './proxies.js';
import { applyPostgresMigrations } from './migrate.js';
import { PostgresOutbox } from './outbox.js';
import { PostgresRetention } from './retention.js';
import { WriteOrder } from './write-order.js';
import { PostgresTickets } from './tickets.js';
import { ReadBatch } from './read-batch.js';
import { createPool, withTransaction, type PostgresStoreOptions } from './pool.js';

export type { PostgresStoreOptions } from './pool.js';

type Db = pg.Pool | pg.PoolClient;

/** The PostgreSQL store: a connection pool; every multi-statement write is one transaction. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;
  private readonly outbox: PostgresOutbox;
  private readonly retention: PostgresRetention;
  private readonly history: PostgresHistory;
  private readonly messages: PostgresMessages;
  private readonly proxies: PostgresProxies;
  readonly media: PostgresMedia;
  readonly tickets: PostgresTickets;
  readonly cluster: PostgresCluster;
  private readonly watchers = new Set<(rows: DueDelivery[]) => void>();
  private readonly order = new WriteOrder();
  /** The cluster's own small pool, opened on first use (a store without nodes never opens it). */
  private clusterPool: pg.Pool | null = null;
  /** The lease renewal's one connection, opened on first use too. */
  private renewalPool: pg.Pool | null = null;
  /** Set once this store serves a node: every owner-only write must then carry a fence. */
  private fenced = false;
  /** Status changes of one turn share a transaction. */
  private readonly group = new PostgresGroupCommit({ one: (change) => this.commitMany([change]), many: (changes) => this.commitMany(changes) });
  /** Channel rows and credentials read in one turn share a query (a node adopting its channels). */
  private readonly channelReads = new ReadBatch<string, ChannelRecord | null>((ids) => this.channelsById(ids));
  private readonly credentialReads = new ReadBatch<{ channelId: string; keys: string[] }, Record<string, string>>((asked) => this.credentialsOf(asked));

  constructor(private readonly opts: PostgresStoreOptions) {
    this.pool = createPool(opts);
    this.schema = opts.schema;
    this.outbox = new PostgresOutbox(this.pool);
    this.retention = new PostgresRetention(this.pool);
    this.history = new PostgresHistory(this.pool);
    this.messages = new PostgresMessages(this.pool);
    this.proxies = new PostgresProxies(this.pool);
    this.media = new PostgresMedia(this.pool);
    this.tickets = new PostgresTickets(this.pool);
    const clusterPool = (max: number): pg.Pool => createPool({ ...this.opts, max, queryTimeoutMs: this.opts.clusterQueryTimeoutMs ?? 3000, connectionTimeoutMillis: this.opts.clusterQueryTimeoutMs ?? 3000 });
    this.cluster = new PostgresCluster(
      () => (this.clusterPool ??= clusterPool(2)),
      () => (this.renewalPool ??= clusterPool(1)),
    );
  }

  /** From now on an owner-only write without a fence is a bug, refused (this store serves a node). */
  requireFences(): void {
    this.fenced = true;
  }

  async migrate(): Promise<void> {
    await applyPostgresMigrations(this.pool, this.schema);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async probeWrite(): Promise<void> {
    await this.pool.query(
      `INSERT INTO meta (key, value) VALUES ('readiness_probe', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [String(Date.now())],
    );
  }

  async lastChangeId(channelId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ last_change_id: string | null }>('SELECT last_change_id FROM channels WHERE id = $1', [channelId]);
    return rows[0]?.last_change_id ?? null;
  }

  async close(): Promise<void> {
    await this.group.drain();
    if (this.clusterPool && !this.clusterPool.ended) await this.clusterPool.end();
    if (this.renewalPool && !this.renewalPool.ended) await this.renewalPool.end();
    if (!this.pool.ended) await this.pool.end();
  }

  async createChannel(channel: NewChannel): Promise<ChannelRecord> {
    const r = initialRecord(channel);
    // The channel's lease row comes with it, held by no node yet: placement gives it an owner.
    const { rows } = await this.pool.query<ChannelRow>(
      `WITH ch AS (
         INSERT INTO channels (${CHANNEL_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13, $14::jsonb)
         RETURNING ${CHANNEL_COLUMNS}),
       lease AS (INSERT INTO channel_leases (channel_id, node_id, epoch, expires_at, acquired_at, start_pending)
                 SELECT id, NULL, 0, 0, created_at, $15 FROM ch)
       SELECT * FROM ch`,
      [
        r.id,
        r.name,
        r.engine,
        r.tokenHash,
        r.createdAt,
        r.stopped,
        JSON.stringify(r.settings),
        JSON.stringify(r.engineOptions),
        r.status,
        r.statusReason,
        r.statusDetail,
        r.statusSince,
        r.startAt,
        r.user === null ? null : JSON.stringify(r.user),
        channel.startOnPlacement ?? false,
      ],
    );
    return channelFromRow(rows[0] as ChannelRow, (v) => v);
  }

  async getChannel(id: string): Promise<ChannelRecord | null> {
    return this.channelReads.read(id);
  }

  async findChannelByTokenHash(tokenHash: string): Promise<ChannelRecord | null> {
    return this.channelWhere('token_hash', tokenHash);
  }

  async listChannels(page: Page): Promise<{ channels: ChannelRecord[]; total: number }> {
    const [limit, offset] = limitOffset(page);
    const [list, count] = await Promise.all([
      this.pool.query<ChannelRow>(
        `SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id LIMIT $1 OFFSET $2`,
        [limit, offset],
      ),
      this.pool.query<{ total: number }>('SELECT count(*) AS total FROM channels'),
    ]);
    return { channels: list.rows.map((row) => channelFromRow(row, (v) => v)), total: count.rows[0]?.total ?? 0 };
  }

  async allChannels(): Promise<ChannelRecord[]> {
    const { rows } = await this.pool.query<ChannelRow>(
      `SELECT ${CHANNEL_COLUMNS} FROM channels ORDER BY created_at, id`,
    );
    return rows.map((row) => channelFromRow(row, (v) => v));
  }

  async updateChannel(id: string, patch: ChannelPatch): Promise<boolean> {
    const columns = patchColumns(patch);
    if (columns.length === 0) return this.channelExists(this.pool, id);
    const assignments = columns.map((c, i) => `${c.column} = $${i + 2}${c.json ? '::jsonb' : ''}`).join(', ');
    const result = await this.pool.query(`UPDATE channels SET ${assignments} WHERE id = $1`, [
      id,
      ...columns.map((c) => c.value),
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async deleteChannel(id: string): Promise<boolean> {
    // History, events, deliveries, credentials, messages, chats and idempotency keys go by
    // ON DELETE CASCADE, in the same statement.
    const result = await this.pool.query('DELETE FROM channels WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async commitChange(change: ChannelChange): Promise<void> {
    // Status changes share transactions (group commit); messages, chats and wipes go alone.
    return isBulkable(change) ? this.group.run(change) : this.commitOne(change);
  }

  /** Many channels' status changes in one statement, a transaction of its own (bulk-changes.ts). */
  private async commitMany(changes: ChannelChange[]): Promise<void> {
    this.refuseUnfenced(changes);
    await this.order.shared(async () => this.handOff(await writeChanges(this.pool, changes)));
  }

  /** One change in its own transaction: its snapshot, history and outbox, then its messages, chats and wipe. */
  private async commitOne(change: ChannelChange): Promise<void> {
    const { channelId } = change;
    this.refuseUnfenced([change]);
    await this.order.shared(async () => this.handOff(await this.transaction(async (c) => {
      // First, as it locks the channel and checks its lease (refused, it writes nothing).
      const written = await writeChanges(c, [change]);
      if (change.wipeCredentials) await c.query('DELETE FROM credentials WHERE channel_id = $1', [channelId]);
      await this.messages.write(c, channelId, change);
      return written;
    })));
  }

  watchDeliveries(listener: (rows: DueDelivery[]) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** Committed deliveries to whoever watches (WriteOrder keeps each queue's in id order). */
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
    return this.outbox.listEvents(channelId, afterSeq, limit);
  }

  async getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>> {
    if (keys.length === 0) return {};
    return this.credentialReads.read({ channelId, keys });
  }

  async setCredentials(channelId: string, entries: Record<string, string | null>, fence?: Fence): Promise<void> {
    // Sorted, so two writers touching the same keys lock them in the same order (no deadlock).
    const sorted = Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const upserts = sorted.filter((e): e is [string, string] => e[1] !== null);
    const deletes = sorted.filter(([, value]) => value === null).map(([key]) => key);
    await this.transaction(async (c) => {
      await this.lockChannel(c, channelId);
      await this.checkFences(c, [{ channelId, fence }]);
      if (upserts.length > 0) {
        await c.query(
          `INSERT INTO credentials (channel_id, key, value)
           SELECT $1, k, v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(k, v, n) ORDER BY n
           ON CONFLICT (channel_id, key) DO UPDATE SET value = EXCLUDED.value`,
          [channelId, upserts.map(([k]) => k), upserts.map(([, v]) => v)],
        );
      }
      if (deletes.length > 0) {
        await c.query('DELETE FROM credentials WHERE channel_id = $1 AND key = ANY($2::text[])', [channelId, deletes]);
      }
    });
  }

  async wipeCredentials(channelId: string, fence?: Fence): Promise<void> {
    await this.transaction(async (c) => {
      // Same lock order as setCredentials (channel row first), so the two never deadlock.
      const exists = await this.channelExists(c, channelId, 'FOR NO KEY UPDATE');
      if (exists) await this.checkFences(c, [{ channelId, fence }]);
      if (exists) await c.query('DELETE FROM credentials WHERE channel_id = $1', [channelId]);
    });
  }

  async dueDeliveries(now: number, limit: number): Promise<DueDelivery[]> {
    return this.outbox.due(now, limit);
  }

  async nextDeliveryDue(): Promise<number | null> {
    return this.outbox.nextDue();
  }

  async claimDeliveries(now: number, limit: number, perQueue: number, held: string[], holder?: ClaimHolder): Promise<DueDelivery[]> {
    return this.outbox.claim(now, limit, perQueue, held, holder);
  }

  async claimQueues(keys: string[], perQueue: number, now: number, holder?: ClaimHolder): Promise<DueDelivery[]> {
    return this.outbox.claimQueues(keys, perQueue, now, holder);
  }

  async renewDeliveryClaims(node: string, keys: string[], until: number): Promise<string[]> {
    return this.outbox.renewClaims(node, keys, until);
  }

  async releaseDeliveryClaims(node: string, keys: string[]): Promise<void> {
    return this.outbox.releaseClaims(node, keys);
  }

  async recordAttempts(outcomes: Array<{ id: number; result: AttemptResult }>): Promise<void> {
    return this.outbox.recordAttempts(outcomes);
  }

  async recordAttempt(id: number, result: AttemptResult): Promise<void> {
    await this.outbox.recordAttempt(id, result);
  }

  async getDelivery(id: number): Promise<DueDelivery | null> {
    return this.outbox.get(id);
  }

  async listDeliveryAttempts(id: number, limit: number): Promise<DeliveryAttemptRecord[]> {
    return this.outbox.attempts(id, limit);
  }

  async listDeliveries(filter: DeliveryFilter, page: Page): Promise<DeliveryPage> {
    return this.outbox.list(filter, page);
  }

  async replayDeliveries(ids: number[], now: number, targets?: DeliveryTarget[]): Promise<Delivery[]> {
    return this.order.exclusive(async () => {
      const copies = await this.outbox.replay(ids, now, targets);
      this.handOff(await this.outbox.withBodies(copies.map((c) => c.id)));
      return copies;
    });
  }

  async prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts> {
    return this.retention.prune(cutoffs, batch);
  }

  reclaim(pruned: PruneCounts): Promise<void> {
    return this.retention.reclaim(pruned);
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
    await this.proxies.save(proxy);
  }

  async deleteProxy(id: string): Promise<boolean> {
    return this.proxies.delete(id);
  }

  async proxyAssignments(): Promise<Array<{ channelId: string; proxyId: string }>> {
    return this.proxies.assignments();
  }

  async assignProxy(channelId: string, proxyId: string | null): Promise<void> {
    await this.proxies.assign(channelId, proxyId);
  }

  async getMeta(key: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, value],
    );
  }

  /**
   * Locks the channel's row for the rest of the transaction, or throws when it is gone. Every
   * write that touches several of a channel's rows takes this lock first, so they serialise per
   * channel and always lock in the same order.
   */
  private async lockChannel(c: pg.PoolClient, channelId: string): Promise<void> {
    if (!(await this.channelExists(c, channelId, 'FOR NO KEY UPDATE'))) throw new UnknownChannelError(channelId);
  }

  /** Refuses the writes unless each one's lease holds (LeaseLostError); without nodes, there is no lease. */
  private async checkFences(c: pg.PoolClient, writes: Array<{ channelId: string; fence?: Fence }>): Promise<void> {
    this.refuseUnfenced(writes);
    await assertLeases(c, fencedOnly(writes));
  }

  /** On a node's store, an owner-only write without a lease is a bug: refused before anything is sent. */
  private refuseUnfenced(writes: Array<{ channelId: string; fence?: Fence }>): void {
    const unfenced = writes.find((w) => !w.fence);
    if (unfenced && this.fenced) throw new Error(`channel ${unfenced.channelId}: an owner-only write without a lease on a node's store`);
  }

  private async channelExists(db: Db, id: string, lock = ''): Promise<boolean> {
    const { rowCount } = await db.query(`SELECT 1 FROM channels WHERE id = $1 ${lock}`, [id]);
    return (rowCount ?? 0) > 0;
  }

  private async channelsById(ids: string[]): Promise<Array<ChannelRecord | null>> {
    const { rows } = await this.pool.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = ANY($1::text[])`, [[...new Set(ids)]]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    // A record of its own for each read (callers keep and change what they are given), even of one id read twice.
    const given = new Set<string>();
    return ids.map((id) => {
      const row = byId.get(id);
      if (!row) return null;
      const fresh = given.has(id) ? structuredClone(row) : row;
      given.add(id);
      return channelFromRow(fresh, (v) => v);
    });
  }

  /** Each read's keys of its channel, in one query for every (channel, key) pair asked. */
  private async credentialsOf(asked: Array<{ channelId: string; keys: string[] }>): Promise<Array<Record<string, string>>> {
    const pairs = new Map<string, [string, string]>();
    for (const { channelId, keys } of asked) for (const key of keys) pairs.set(JSON.stringify([channelId, key]), [channelId, key]);
    const { rows } = await this.pool.query<{ channel_id: string; key: string; value: string }>(
      `SELECT c.channel_id, c.key, c.value FROM credentials c
       JOIN unnest($1::text[], $2::text[]) AS q(channel_id, key) ON c.channel_id = q.channel_id AND c.key = q.key`,
      [[...pairs.values()].map((p) => p[0]), [...pairs.values()].map((p) => p[1])],
    );
    const found = new Map(rows.map((row) => [JSON.stringify([row.channel_id, row.key]), row.value]));
    return asked.map(({ channelId, keys }) =>
      Object.fromEntries(keys.flatMap((key) => {
        const value = found.get(JSON.stringify([channelId, key]));
        return value === undefined ? [] : [[key, value]];
      })),
    );
  }

  private async channelWhere(column: 'id' | 'token_hash', value: string): Promise<ChannelRecord | null> {
    const { rows } = await this.pool.query<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM channels WHERE ${column} = $1`, [
      value,
    ]);
    return rows[0] ? channelFromRow(rows[0], (v) => v) : null;
  }

  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }
}

/** Opens a PostgreSQL store (not yet migrated). */
export function openPostgresStore(opts: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(opts);
}
