import type pg from 'pg';
import {
  CHAT_SELECT,
  IDEMPOTENCY_COLUMNS,
  MESSAGE_COLUMNS,
  chatFromRow,
  idempotencyFromRow,
  messageFromRow,
  messageOrder,
  messageWhere,
  type ChatRow,
  type IdempotencyRow,
  type MessageRow,
} from '../message-rows.js';
import { limitOffset } from '../rows.js';
import type { ChannelChange, ChatRecord, IdempotencyRecord, MessageFilter, Page, StoredMessage } from '../types.js';

/** pg parses json columns itself (JSON.parse of the stored text, so key order is kept). */
const asIs = (value: unknown): unknown => value;

/**
 * Messages, chats and idempotency records in PostgreSQL. Writes run on the commitChange
 * transaction, which holds the channel's row lock, so a channel's inserted_seq values are
 * drawn in commit order.
 */
export class PostgresMessages {
  constructor(private readonly pool: pg.Pool) {}

  /** Writes a change's messages, then its chats, then its idempotency record, in that order. */
  async write(c: pg.PoolClient, channelId: string, change: ChannelChange): Promise<void> {
    // One statement cannot touch a row twice: a message named twice in one change keeps its
    // first place and its last content (a Map keeps the first key position, the last value),
    // exactly as two upserts one after the other would leave it.
    const messages = [...new Map((change.messages ?? []).map((m) => [m.id, m])).values()];
    if (messages.length > 0) {
      await c.query(
        `INSERT INTO messages (channel_id, id, chat_id, from_me, timestamp, message)
         SELECT $1, t.id, t.chat_id, t.from_me, t.ts, t.message::json
         FROM unnest($2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::text[])
           WITH ORDINALITY AS t(id, chat_id, from_me, ts, message, n)
         ORDER BY t.n
         ON CONFLICT (channel_id, id) DO UPDATE SET chat_id = EXCLUDED.chat_id, from_me = EXCLUDED.from_me,
           timestamp = EXCLUDED.timestamp, message = EXCLUDED.message`,
        [
          channelId,
          messages.map((m) => m.id),
          messages.map((m) => m.chatId),
          messages.map((m) => m.fromMe),
          messages.map((m) => m.timestamp),
          messages.map((m) => JSON.stringify(m.message)),
        ],
      );
    }
    // One at a time: a chat named twice in one change adds both unread deltas.
    for (const chat of change.chats ?? []) {
      await c.query(
        `INSERT INTO chats (channel_id, chat_id, type, name, timestamp, unread, last_message_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (channel_id, chat_id) DO UPDATE SET type = EXCLUDED.type,
           name = COALESCE(EXCLUDED.name, chats.name), timestamp = GREATEST(EXCLUDED.timestamp, chats.timestamp),
           unread = chats.unread + EXCLUDED.unread,
           -- an older message (an offline catch-up) never moves a chat back in time
           last_message_id = CASE WHEN EXCLUDED.timestamp >= chats.timestamp THEN EXCLUDED.last_message_id ELSE chats.last_message_id END`,
        [channelId, chat.chatId, chat.type, chat.name, chat.timestamp, chat.unreadDelta, chat.lastMessageId],
      );
    }
    const record = change.idempotency;
    if (record) {
      // The caller writes a key only when it is absent or expired: the new answer replaces it.
      await c.query(
        `INSERT INTO idempotency (channel_id, key, request_hash, status, response, created_at)
         VALUES ($1, $2, $3, $4, $5::json, $6)
         ON CONFLICT (channel_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
           status = EXCLUDED.status, response = EXCLUDED.response, created_at = EXCLUDED.created_at`,
        [channelId, record.key, record.requestHash, record.status, JSON.stringify(record.response), record.createdAt],
      );
    }
  }

  async list(
    channelId: string,
    filter: MessageFilter,
    page: Page,
  ): Promise<{ messages: StoredMessage[]; total: number }> {
    const where = messageWhere(channelId, filter, (n) => `$${n}`, "message->>'from'");
    const n = where.values.length;
    const [list, count] = await Promise.all([
      this.pool.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages ${where.sql}
         ${messageOrder(filter)} LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...where.values, ...limitOffset(page)],
      ),
      this.pool.query<{ total: number }>(`SELECT count(*) AS total FROM messages ${where.sql}`, where.values),
    ]);
    return { messages: list.rows.map((row) => messageFromRow(row, asIs)), total: count.rows[0]?.total ?? 0 };
  }

  async get(channelId: string, id: string): Promise<StoredMessage | null> {
    const { rows } = await this.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = $1 AND id = $2`,
      [channelId, id],
    );
    return rows[0] ? messageFromRow(rows[0], asIs) : null;
  }

  async listChats(channelId: string, page: Page): Promise<{ chats: ChatRecord[]; total: number }> {
    const [list, count] = await Promise.all([
      this.pool.query<ChatRow>(
        `${CHAT_SELECT} WHERE c.channel_id = $1 ORDER BY c.timestamp DESC, m.inserted_seq DESC NULLS LAST, c.chat_id LIMIT $2 OFFSET $3`,
        [channelId, ...limitOffset(page)],
      ),
      this.pool.query<{ total: number }>('SELECT count(*) AS total FROM chats WHERE channel_id = $1', [channelId]),
    ]);
    return { chats: list.rows.map((row) => chatFromRow(row, asIs)), total: count.rows[0]?.total ?? 0 };
  }

  async getChat(channelId: string, chatId: string): Promise<ChatRecord | null> {
    const { rows } = await this.pool.query<ChatRow>(`${CHAT_SELECT} WHERE c.channel_id = $1 AND c.chat_id = $2`, [
      channelId,
      chatId,
    ]);
    return rows[0] ? chatFromRow(rows[0], asIs) : null;
  }

  async getIdempotency(channelId: string, key: string, since: number): Promise<IdempotencyRecord | null> {
    const { rows } = await this.pool.query<IdempotencyRow>(
      `SELECT ${IDEMPOTENCY_COLUMNS} FROM idempotency WHERE channel_id = $1 AND key = $2 AND created_at >= $3`,
      [channelId, key, since],
    );
    return rows[0] ? idempotencyFromRow(rows[0], asIs) : null;
  }

  async pruneIdempotency(before: number): Promise<number> {
    const result = await this.pool.query('DELETE FROM idempotency WHERE created_at < $1', [before]);
    return result.rowCount ?? 0;
  }
}
