import type { HistoryEntry } from '@wagate/protocol';
import { HISTORY_COLUMNS, historyFromRow, limitOffset, type HistoryRow } from '../rows.js';
import type { Page } from '../types.js';
import type { Prepare } from './outbox.js';

/** A channel's status history in SQLite, on the store's connection and statement cache. */
export class SqliteHistory {
  constructor(private readonly stmt: Prepare) {}

  /** Appends history rows; the caller runs it inside the change's transaction. */
  insert(channelId: string, entries: HistoryEntry[]): void {
    const insert = this.stmt(
      'INSERT INTO status_history (channel_id, at, from_status, to_status, reason, detail) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const entry of entries) {
      insert.run(channelId, entry.at, entry.from, entry.to, entry.reason, entry.detail ?? null);
    }
  }

  list(channelId: string, page: Page): { history: HistoryEntry[]; total: number } {
    const rows = this.stmt(
      `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
    ).all(channelId, ...limitOffset(page)) as HistoryRow[];
    const total = this.stmt('SELECT count(*) FROM status_history WHERE channel_id = ?', true).get(channelId) as number;
    return { history: rows.map(historyFromRow), total };
  }

  since(channelId: string, since: number): HistoryEntry[] {
    const rows = this.stmt(
      `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = ? AND at >= ? ORDER BY at, id`,
    ).all(channelId, since) as HistoryRow[];
    return rows.map(historyFromRow);
  }
}
