import type { RemediationMode } from '@wagate/protocol';
import { DEFAULT_LIFECYCLE } from '../channel/config.js';

/** The policy's times and counts; a channel's `remediation` setting may change the mode and the cap. */
export interface RemediationConfig {
  mode: RemediationMode;
  /** Actions per channel in any rolling hour; one more is handed over as `needs_attention`. */
  maxActionsPerHour: number;
  /** Drops out of AUTH within `windowMs` that count as flapping (the lifecycle's own flap rule). */
  flap: { drops: number; windowMs: number };
  /** A stuck INIT or LAUNCH is restarted after `baseMs`, doubling per stuck start in a row, up to `maxMs`. */
  stuckBackoff: { baseMs: number; maxMs: number };
  /** How long an ERROR `reconnect_failed` rests before the restart. */
  cooldownMs: number;
}

export const DEFAULT_REMEDIATION: RemediationConfig = {
  mode: 'act',
  maxActionsPerHour: 3,
  flap: DEFAULT_LIFECYCLE.flap,
  stuckBackoff: { baseMs: 5_000, maxMs: 5 * 60_000 },
  cooldownMs: 5 * 60_000,
};

/** The rolling window of the cap. */
export const CAP_WINDOW_MS = 60 * 60_000;

/** The delay before the restart of the `n`th stuck start in a row (1-based). */
export function stuckDelay(config: RemediationConfig['stuckBackoff'], n: number): number {
  return Math.min(config.maxMs, config.baseMs * 2 ** Math.max(0, n - 1));
}
