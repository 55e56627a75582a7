import type pg from 'pg';
import type { HistoryEntry } from '@wagate/protocol';
import { HISTORY_COLUMNS, historyFromRow, limitOffset, type HistoryRow } from '../rows.js';
import type { Page } from '../types.js';

/** A channel's status history in PostgreSQL. */
export class PostgresHistory {
  constructor(private readonly pool: pg.Pool) {}

  async list(channelId: string, page: Page): Promise<{ history: HistoryEntry[]; total: number }> {
    const [limit, offset] = limitOffset(page);
    const [list, count] = await Promise.all([
      this.pool.query<HistoryRow>(
        `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = $1
         ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3`,
        [channelId, limit, offset],
      ),
      this.pool.query<{ total: number }>('SELECT count(*) AS total FROM status_history WHERE channel_id = $1', [
        channelId,
      ]),
    ]);
    return { history: list.rows.map(historyFromRow), total: count.rows[0]?.total ?? 0 };
  }

  async since(channelId: string, since: number): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE channel_id = $1 AND at >= $2 ORDER BY at, id`,
      [channelId, since],
    );
    return rows.map(historyFromRow);
  }
}
