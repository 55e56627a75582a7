/**
 * How old a status report is, judged by what each source gives:
 * - wagate's webhook-id is `msg_<seq>`, one increasing sequence per gateway, kept across restarts:
 *   the exact order of events, also within one second. A seq at or below the last applied one is
 *   a duplicate (deliveries are at least once) or a replay/out-of-order delivery: stale.
 * - Health's `start_at` (the run's start, unix seconds) and `uptime` (seconds into that run) order
 *   reports across sources that have no seq (Whapi.Cloud's webhooks, `/health` polls): a report
 *   from an earlier run, or earlier in the same run, is stale. A later run (`start_at` moved
 *   forward) is always news, even if its seq went backwards (a gateway whose store was reset).
 * Reports of the same second without a seq are taken in arrival order: uptime has 1 s resolution.
 */
export interface Freshness {
  seq: number | null;
  startAt: number | null;
  uptime: number | null;
}

export type Verdict = 'fresh' | 'new_run' | 'stale';

/** Whether `incoming` is newer than everything `seen` so far. */
export function freshness(seen: Freshness, incoming: Freshness): Verdict {
  if (incoming.startAt !== null && seen.startAt !== null) {
    if (incoming.startAt > seen.startAt) return 'new_run';
    if (incoming.startAt < seen.startAt) return 'stale';
    if (incoming.uptime !== null && seen.uptime !== null && incoming.uptime < seen.uptime) return 'stale';
  }
  if (incoming.seq !== null && seen.seq !== null && incoming.seq <= seen.seq) return 'stale';
  return 'fresh';
}

/** The sequence number in wagate's `webhook-id` (`msg_42` → 42); null for other senders' ids. */
export function webhookSequence(id: string | null | undefined): number | null {
  const m = id ? /^msg_(\d{1,15})$/.exec(id) : null;
  return m ? Number(m[1]) : null;
}
