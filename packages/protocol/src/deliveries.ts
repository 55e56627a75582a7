import { Type, type Static } from '@sinclair/typebox';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;

/** One delivery in the log (extension, `GET /webhooks/deliveries`). Times are unix milliseconds. */
export const DeliveryView = Type.Object({
  id: Type.Integer(),
  webhook_id: Type.String({ description: 'the webhook-id header: stable across retries and replays' }),
  event: Type.Object({ type: Type.String(), event: Type.String() }),
  channel_id: Type.String(),
  url: Type.String(),
  mode: Type.String(),
  status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  next_attempt_at: Type.Integer(),
  created_at: Type.Integer(),
  delivered_at: Type.Union([Type.Integer(), Type.Null()]),
  last_status: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  replay_of: Type.Union([Type.Integer(), Type.Null()]),
});
export type DeliveryView = Static<typeof DeliveryView>;

export const DeliveryList = Type.Object({
  deliveries: Type.Array(DeliveryView),
  total: Type.Integer({ description: 'the matching deliveries, counted up to 10,000 (see total_capped)' }),
  total_capped: Type.Boolean({ description: 'true when more than 10,000 match: total is then 10,000; page on with `before`' }),
  count: Type.Integer(),
  offset: Type.Integer(),
  retention_days: Type.Integer({ description: 'finished deliveries older than this many days are pruned (WAGATE_RETENTION_DELIVERIES_DAYS); pending ones never' }),
});

export const ReplayRange = Type.Object(
  {
    since: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'unix ms, inclusive' }),
    until: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'unix ms, exclusive' }),
    status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false },
);
export type ReplayRange = Static<typeof ReplayRange>;

/** How much of a receiver's answer body each attempt keeps: its first bytes, for the delivery detail. */
export const DELIVERY_ANSWER_BYTES = 512;

/** The delivery detail shows at most this many attempts, the latest first. */
export const DELIVERY_ATTEMPTS_SHOWN = 20;

/** One attempt of a delivery (extension). Times are unix milliseconds. */
export const DeliveryAttemptView = Type.Object({
  attempt: Type.Integer({ minimum: 1, description: '1 for the first attempt' }),
  at: Type.Integer({ description: 'when the attempt ended' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: "the receiver's HTTP status; null when no answer came" }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the attempt failed, or gave up; null on success' }),
  duration_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no request was made (the delivery was too old)' }),
  answer: Type.Union([Type.String(), Type.Null()], { description: `the first ${DELIVERY_ANSWER_BYTES} bytes of the answer body, as UTF-8 text` }),
});
export type DeliveryAttemptView = Static<typeof DeliveryAttemptView>;

/**
 * One delivery in full (extension): what was sent and how. Header values that carry a secret
 * (the signature, and any header whose name says token, key, secret or auth) are masked.
 */
export const DeliveryDetail = Type.Object({
  delivery: DeliveryView,
  payload: Type.Unknown({ description: 'the JSON body sent (the same on every attempt)' }),
  headers: Type.Record(Type.String(), Type.String()),
  signed: Type.Boolean(),
  attempt_log: Type.Array(DeliveryAttemptView, { description: `each attempt and its answer, the latest first (at most ${DELIVERY_ATTEMPTS_SHOWN}; delivery.attempts counts them all)` }),
});
export type DeliveryDetail = Static<typeof DeliveryDetail>;
