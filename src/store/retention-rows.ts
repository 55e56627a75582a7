import type { PruneCounts } from './types.js';

/** The finished deliveries (deliveries_status_created serves each status). */
const DONE = "status IN ('delivered', 'failed', 'cancelled')";

/** One kind's retention batch: `select` names the rows one batch deletes, `sql` deletes them. */
export interface PruneBatch {
  kind: keyof PruneCounts;
  select: string;
  sql: string;
}

/**
 * Each kind's retention batch, in the order they run, as both dialects write it; `param(n)`
 * writes the dialect's n-th placeholder (1: the kind's cutoff, 2: the batch size). Events go
 * after the deliveries, and only once no delivery needs their body.
 */
export function pruneBatches(param: (n: number) => string): PruneBatch[] {
  const [cutoff, limit] = [param(1), param(2)];
  const batch = (kind: keyof PruneCounts, table: string, key: string, select: string): PruneBatch => ({
    kind,
    select,
    sql: `DELETE FROM ${table} WHERE ${key} IN (${select})`,
  });
  return [
    batch('deliveries', 'deliveries', 'id', `SELECT id FROM deliveries WHERE ${DONE} AND created_at < ${cutoff} LIMIT ${limit}`),
    batch(
      'events',
      'events',
      'seq',
      `SELECT seq FROM events e WHERE created_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq)
       ORDER BY created_at LIMIT ${limit}`,
    ),
    batch('history', 'status_history', 'id', `SELECT id FROM status_history WHERE at < ${cutoff} ORDER BY at LIMIT ${limit}`),
  ];
}
