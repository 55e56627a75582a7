import { Type, type Static } from '@sinclair/typebox';
import { LivenessOptions, livenessTimings, type LivenessTimings } from '../liveness.js';

/** The `sandbox` object a channel may carry at creation: its simulated timings (SPEC §8). */
export const SandboxOptions = Type.Object(
  {
    init_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    launch_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    qr_first_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    qr_next_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    qr_per_round: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    receipt_delivered_ms: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 3_600_000 }), Type.Null()])),
    receipt_read_ms: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 3_600_000 }), Type.Null()])),
    ...LivenessOptions,
  },
  { additionalProperties: false },
);
export type SandboxOptions = Static<typeof SandboxOptions>;

export interface SandboxTimings {
  initMs: number;
  launchMs: number;
  qrFirstMs: number;
  qrNextMs: number;
  qrPerRound: number;
  receiptDeliveredMs: number | null;
  receiptReadMs: number | null;
  /** The simulated keep-alive and the liveness watch, as the Baileys engine times them. */
  liveness: LivenessTimings;
}

/** Channels created with the same options share one timings object (read-only). */
const shared = new Map<string, SandboxTimings>();

/** The timings of a sandbox channel: the spec's defaults, overridden by its options. */
export function sandboxTimings(options: Record<string, unknown>): SandboxTimings {
  const key = JSON.stringify(options);
  let timings = shared.get(key);
  if (timings) return timings;
  timings = Object.freeze(timingsOf(options));
  if (shared.size < 1000) shared.set(key, timings);
  return timings;
}

function timingsOf(options: Record<string, unknown>): SandboxTimings {
  const o = options as SandboxOptions;
  return {
    initMs: o.init_ms ?? 200,
    launchMs: o.launch_ms ?? 500,
    qrFirstMs: o.qr_first_ms ?? 60_000,
    qrNextMs: o.qr_next_ms ?? 20_000,
    // WhatsApp Web hands out six refs per pairing round.
    qrPerRound: o.qr_per_round ?? 6,
    // The recipient's phone acknowledges within a second and reads a few seconds later.
    receiptDeliveredMs: o.receipt_delivered_ms === undefined ? 1_000 : o.receipt_delivered_ms,
    receiptReadMs: o.receipt_read_ms === undefined ? 3_000 : o.receipt_read_ms,
    liveness: livenessTimings(options),
  };
}
