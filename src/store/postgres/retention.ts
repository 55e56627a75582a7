import type pg from 'pg';
import type { PruneCounts, RetentionCutoffs } from '../types.js';

/** The finished deliveries (deliveries_status_created serves each status). */
const DONE = "status IN ('delivered', 'failed', 'cancelled')";

/**
 * Retention in PostgreSQL: each kind goes in small batches, each statement its own short
 * transaction, so a status change waits for at most one batch's row locks. Events go only once
 * no delivery needs their body.
 */
export class PostgresRetention {
  constructor(private readonly pool: pg.Pool) {}

  async prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts> {
    const deliveries = await this.pool.query(
      `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE ${DONE} AND created_at < $1 LIMIT $2)`,
      [cutoffs.deliveries, batch],
    );
    const events = await this.pool.query(
      `DELETE FROM events WHERE seq IN (
         SELECT seq FROM events e WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)
         ORDER BY created_at LIMIT $2)`,
      [cutoffs.events, batch],
    );
    const history = await this.pool.query(
      'DELETE FROM status_history WHERE id IN (SELECT id FROM status_history WHERE at < $1 ORDER BY at LIMIT $2)',
      [cutoffs.history, batch],
    );
    return { deliveries: deliveries.rowCount ?? 0, events: events.rowCount ?? 0, history: history.rowCount ?? 0 };
  }
}
