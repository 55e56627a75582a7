import type { ChatRecord, IdempotencyRecord, MessageFilter, StoredMessage } from './types.js';

/*
 * Row mapping for messages, chats and idempotency records, shared by both dialects. JSON
 * columns arrive as text from SQLite and already parsed from PostgreSQL, so each mapping takes
 * the parser as an argument, as in rows.ts.
 */

/** A `messages` row as both dialects select it (`from_me` is 0/1 in SQLite). */
export interface MessageRow {
  id: string;
  chat_id: string;
  from_me: number | boolean;
  timestamp: number;
  message: unknown;
}

/** The message columns, in `MessageRow` order. */
export const MESSAGE_COLUMNS = 'id, chat_id, from_me, timestamp, message';

/** Maps a `messages` row; `json` parses the message as `channelFromRow`'s does. */
export function messageFromRow(row: MessageRow, json: (value: unknown) => unknown): StoredMessage {
  return {
    id: row.id,
    chatId: row.chat_id,
    fromMe: Boolean(row.from_me),
    timestamp: row.timestamp,
    message: json(row.message) as Record<string, unknown>,
  };
}

/** A `chats` row joined with its last message (null when that message is not stored). */
export interface ChatRow {
  chat_id: string;
  type: string;
  name: string | null;
  timestamp: number;
  unread: number;
  last_message: unknown;
}

/** A chat with its last message as it stands now, read from `messages`; add the WHERE clause. */
export const CHAT_SELECT = `SELECT c.chat_id, c.type, c.name, c.timestamp, c.unread, m.message AS last_message
  FROM chats c LEFT JOIN messages m ON m.channel_id = c.channel_id AND m.id = c.last_message_id`;

export function chatFromRow(row: ChatRow, json: (value: unknown) => unknown): ChatRecord {
  return {
    id: row.chat_id,
    type: row.type as ChatRecord['type'],
    name: row.name,
    timestamp: row.timestamp,
    unread: row.unread,
    lastMessage: row.last_message === null ? null : (json(row.last_message) as Record<string, unknown>),
  };
}

/** An `idempotency` row as both dialects select it. */
export interface IdempotencyRow {
  key: string;
  request_hash: string;
  status: number;
  response: unknown;
  created_at: number;
}

export const IDEMPOTENCY_COLUMNS = 'key, request_hash, status, response, created_at';

export function idempotencyFromRow(row: IdempotencyRow, json: (value: unknown) => unknown): IdempotencyRecord {
  return {
    key: row.key,
    requestHash: row.request_hash,
    status: row.status,
    response: json(row.response) as Record<string, unknown>,
    createdAt: row.created_at,
  };
}

/**
 * The WHERE clause of a message listing (always the channel first) and its values in order;
 * `param(n)` writes the dialect's placeholder for the n-th value, counting from 1, and
 * `fromField` the dialect's expression for the message's `from`.
 */
export function messageWhere(
  channelId: string,
  filter: MessageFilter,
  param: (n: number) => string,
  fromField: string,
): { sql: string; values: Array<string | number | boolean> } {
  const clauses: string[] = [];
  const values: Array<string | number | boolean> = [];
  const add = (condition: string, value: string | number | boolean | undefined): void => {
    if (value === undefined) return;
    values.push(value);
    clauses.push(`${condition} ${param(values.length)}`);
  };
  add('channel_id =', channelId);
  add('chat_id =', filter.chatId);
  add('from_me =', filter.fromMe);
  add('timestamp >=', filter.timeFrom);
  add('timestamp <=', filter.timeTo);
  add(`${fromField} =`, filter.author);
  return { sql: `WHERE ${clauses.join(' AND ')}`, values };
}

/** The ORDER BY of a message listing: newest first unless `sort` is `asc`. */
export function messageOrder(filter: MessageFilter): string {
  const dir = filter.sort === 'asc' ? 'ASC' : 'DESC';
  return `ORDER BY timestamp ${dir}, inserted_seq ${dir}`;
}
