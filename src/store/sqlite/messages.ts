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
import type { Prepare } from './outbox.js';

const parseJson = (value: unknown): unknown => JSON.parse(value as string);

/** SQLite binds no booleans: they go in as 0 and 1. */
const bindable = (value: string | number | boolean): string | number =>
  typeof value === 'boolean' ? Number(value) : value;

/**
 * Messages, chats and idempotency records in SQLite, on the store's connection and statement
 * cache. Writes run inside the caller's commitChange transaction.
 */
export class SqliteMessages {
  constructor(private readonly stmt: Prepare) {}

  /** Writes a change's messages, then its chats, then its idempotency record, in that order. */
  write(channelId: string, change: ChannelChange): void {
    const message = this.stmt(
      `INSERT INTO messages (channel_id, id, chat_id, from_me, timestamp, message) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_id, id) DO UPDATE SET chat_id = excluded.chat_id, from_me = excluded.from_me,
         timestamp = excluded.timestamp, message = excluded.message`,
    );
    for (const m of change.messages ?? []) {
      message.run(channelId, m.id, m.chatId, m.fromMe ? 1 : 0, m.timestamp, JSON.stringify(m.message));
    }
    const chat = this.stmt(
      `INSERT INTO chats (channel_id, chat_id, type, name, timestamp, unread, last_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_id, chat_id) DO UPDATE SET type = excluded.type,
         name = COALESCE(excluded.name, chats.name), timestamp = MAX(excluded.timestamp, chats.timestamp),
         unread = chats.unread + excluded.unread,
         -- an older message (an offline catch-up) never moves a chat back in time
         last_message_id = CASE WHEN excluded.timestamp >= chats.timestamp THEN excluded.last_message_id ELSE chats.last_message_id END`,
    );
    for (const c of change.chats ?? []) {
      chat.run(channelId, c.chatId, c.type, c.name, c.timestamp, c.unreadDelta, c.lastMessageId);
    }
    const record = change.idempotency;
    if (record) {
      // The caller writes a key only when it is absent or expired: the new answer replaces it.
      this.stmt(
        `INSERT INTO idempotency (channel_id, key, request_hash, status, response, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (channel_id, key) DO UPDATE SET request_hash = excluded.request_hash,
           status = excluded.status, response = excluded.response, created_at = excluded.created_at`,
      ).run(
        channelId,
        record.key,
        record.requestHash,
        record.status,
        JSON.stringify(record.response),
        record.createdAt,
      );
    }
  }

  list(channelId: string, filter: MessageFilter, page: Page): { messages: StoredMessage[]; total: number } {
    const where = messageWhere(channelId, filter, () => '?', "json_extract(message, '$.from')");
    const values = where.values.map(bindable);
    const rows = this.stmt(
      `SELECT ${MESSAGE_COLUMNS} FROM messages ${where.sql}
       ${messageOrder(filter)} LIMIT ? OFFSET ?`,
    ).all(...values, ...limitOffset(page)) as MessageRow[];
    const total = this.stmt(`SELECT count(*) FROM messages ${where.sql}`, true).get(...values) as number;
    return { messages: rows.map((row) => messageFromRow(row, parseJson)), total };
  }

  get(channelId: string, id: string): StoredMessage | null {
    const row = this.stmt(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id = ?`).get(
      channelId,
      id,
    ) as MessageRow | undefined;
    return row ? messageFromRow(row, parseJson) : null;
  }

  listChats(channelId: string, page: Page): { chats: ChatRecord[]; total: number } {
    const rows = this.stmt(
      `${CHAT_SELECT} WHERE c.channel_id = ? ORDER BY c.timestamp DESC, m.inserted_seq DESC, c.chat_id LIMIT ? OFFSET ?`,
    ).all(channelId, ...limitOffset(page)) as ChatRow[];
    const total = this.stmt('SELECT count(*) FROM chats WHERE channel_id = ?', true).get(channelId) as number;
    return { chats: rows.map((row) => chatFromRow(row, parseJson)), total };
  }

  getChat(channelId: string, chatId: string): ChatRecord | null {
    const row = this.stmt(`${CHAT_SELECT} WHERE c.channel_id = ? AND c.chat_id = ?`).get(channelId, chatId) as
      | ChatRow
      | undefined;
    return row ? chatFromRow(row, parseJson) : null;
  }

  getIdempotency(channelId: string, key: string, since: number): IdempotencyRecord | null {
    const row = this.stmt(
      `SELECT ${IDEMPOTENCY_COLUMNS} FROM idempotency WHERE channel_id = ? AND key = ? AND created_at >= ?`,
    ).get(channelId, key, since) as IdempotencyRow | undefined;
    return row ? idempotencyFromRow(row, parseJson) : null;
  }

  pruneIdempotency(before: number): number {
    return this.stmt('DELETE FROM idempotency WHERE created_at < ?').run(before).changes;
  }
}
