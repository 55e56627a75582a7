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

  /**
   * Where autovacuum is off (the server's setting, or the table's own), deleted rows' space is
   * never reused and the tables grow for ever: after a sweep that deleted rows, vacuum those
   * tables as autovacuum would (VACUUM blocks no reads or writes; SKIP_LOCKED passes over a
   * table another node is vacuuming).
   */
  async reclaim(pruned: PruneCounts): Promise<void> {
    const pruneTables = [...(pruned.deliveries > 0 ? ['deliveries', 'delivery_attempts'] : []), ...(pruned.events > 0 ? ['events'] : []), ...(pruned.history > 0 ? ['status_history'] : [])];
    if (pruneTables.length === 0) return;
    const { rows } = await this.pool.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE oid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
         AND (current_setting('autovacuum') <> 'on' OR 'autovacuum_enabled=false' = ANY (coalesce(reloptions, '{}')))`,
      [pruneTables],
    );
    if (rows.length > 0) await this.pool.query(`VACUUM (SKIP_LOCKED, ANALYZE) ${rows.map((r) => r.relname).join(', ')}`);
  }

  async prune(cutoffs: RetentionCutoffs, batch: number): Promise<PruneCounts> {
    const counts: PruneCounts = { deliveries: 0, events: 0, history: 0 };
    for (const b of BATCHES) counts[b.kind] = (await this.pool.query(b.sql, [cutoffs[b.kind], batch])).rowCount ?? 0;
    return counts;
  }
}
