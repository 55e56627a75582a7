import { pruneBatches } from '../retention-rows.js';
import type { PruneCounts, RetentionCutoffs } from '../types.js';
import type { Prepare } from './outbox.js';

const BATCHES = pruneBatches(() => '?');

/**
 * Retention in SQLite: each kind goes in small batches, each its own short transaction, so a
 * status change waits for at most one batch.
 */
export class SqliteRetention {
  constructor(private readonly stmt: Prepare) {}

  prune(cutoffs: RetentionCutoffs, batch: number): PruneCounts {
    const counts: PruneCounts = { deliveries: 0, events: 0, history: 0 };
    for (const b of BATCHES) counts[b.kind] = this.stmt(b.sql).run(cutoffs[b.kind], batch).changes;
    return counts;
  }
}
