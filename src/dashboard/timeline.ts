import { Type, type Static } from '@sinclair/typebox';
import { STATUS_TEXTS, type HistoryEntry, type StatusText } from '@wagate/protocol';

export const DAY_MS = 24 * 60 * 60 * 1000;

const StatusTextSchema = Type.Union(STATUS_TEXTS.map((t) => Type.Literal(t)));

/** A channel's statuses over a window: what the dashboard draws as one bar (extension). */
export const StatusTimeline = Type.Object({
  since: Type.Integer({ description: 'unix ms: the window start (24 h ago, or the creation time if later)' }),
  until: Type.Integer({ description: 'unix ms: now' }),
  segments: Type.Array(Type.Object({ status: StatusTextSchema, from: Type.Integer(), to: Type.Integer() })),
  /** Share of the window spent in AUTH, 0..1. */
  uptime: Type.Number({ minimum: 0, maximum: 1 }),
  /** Times the channel left AUTH for a reason other than an operator action. */
  drops: Type.Integer(),
  /** Flapping alerts raised in the window (history notes with reason `flapping`). */
  flapping: Type.Integer(),
  /** Milliseconds per status in the window. */
  totals: Type.Record(Type.String(), Type.Integer()),
});
export type StatusTimeline = Static<typeof StatusTimeline>;

export interface TimelineInput {
  /** History rows at or after `since`, oldest first (the store's `historySince`). */
  history: HistoryEntry[];
  since: number;
  now: number;
  /** The status now: the whole window when no row falls in it. */
  current: StatusText;
}

/** Segments, uptime and drops of one window; pure, so it is tested without a gateway. */
export function statusTimeline({ history, since, now, current }: TimelineInput): StatusTimeline {
  const until = Math.max(since, now);
  const rows = history.filter((e) => e.at >= since && e.at <= until);
  const segments: StatusTimeline['segments'] = [];
  const push = (status: StatusText, from: number, to: number): void => {
    if (to <= from) return;
    const last = segments[segments.length - 1];
    if (last && last.status === status && last.to === from) last.to = to;
    else segments.push({ status, from, to });
  };

  let status: StatusText = rows[0]?.from ?? current;
  let at = since;
  let drops = 0;
  let flapping = 0;
  for (const e of rows) {
    if (e.from === e.to) {
      if (e.reason === 'flapping') flapping++;
      continue;
    }
    if (e.from === 'AUTH' && !e.reason.startsWith('operator_')) drops++;
    push(status, at, e.at);
    status = e.to;
    at = e.at;
  }
  push(status, at, until);

  const totals: Record<string, number> = {};
  for (const s of segments) totals[s.status] = (totals[s.status] ?? 0) + (s.to - s.from);
  const span = until - since;
  const uptime = span > 0 ? (totals.AUTH ?? 0) / span : 0;
  return { since, until, segments, uptime, drops, flapping, totals };
}
