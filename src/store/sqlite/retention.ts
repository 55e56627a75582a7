import type { PruneCounts, RetentionCutoffs } from '../types.js';
import type { Prepare } from './outbox.js';

/** The finished deliveries, in creation order (deliveries_status_created serves each status). */
const DONE = "status IN ('delivered', 'failed', 'cancelled')";

/**
 * Retention in SQLite: each kind goes in small batches, each its own short transaction, so a
 * status change waits for at most one batch. Events go only once no delivery needs their body.
 */
export class SqliteRetention {
  constructor(private readonly stmt: Prepare) {}

  prune(cutoffs: RetentionCutoffs, batch: number): PruneCounts {
    const deliveries = this.stmt(
      `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE ${DONE} AND created_at < ? LIMIT ?)`,
    ).run(cutoffs.deliveries, batch).changes;
    const events = this.stmt(
      `DELETE FROM events WHERE seq IN (
         SELECT seq FROM events e WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)
         ORDER BY created_at LIMIT ?)`,
    ).run(cutoffs.events, batch).changes;
    const history = this.stmt(
      'DELETE FROM status_history WHERE id IN (SELECT id FROM status_history WHERE at < ? ORDER BY at LIMIT ?)',
    ).run(cutoffs.history, batch).changes;
    return { deliveries, events, history };
  }
}
