import type pg from 'pg';
import { pruneBatches } from '../retention-rows.js';
import type { PruneCounts, RetentionCutoffs } from '../types.js';

const BATCHES = pruneBatches((n) => `$${n}`);

/**
 * Retention in PostgreSQL: each kind goes in small batches, each statement its own short
 * transaction, so a status change waits for at most one batch's row locks.
 */
export class PostgresRetention {
  constructor(private readonly pool: pg.Pool) {}

  async prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts> {
    const counts: PruneCounts = { deliveries: 0, events: 0, history: 0 };
    for (const b of BATCHES) counts[b.kind] = (await this.pool.query(b.sql, [cutoffs[b.kind], batch])).rowCount ?? 0;
    return counts;
  }
}
