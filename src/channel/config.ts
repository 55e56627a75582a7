/** Every time and count the lifecycle enforces (SPEC §1); all configurable. */
export interface LifecycleConfig {
  /** INIT longer than this → ERROR `init_timeout`. */
  initTimeoutMs: number;
  /** LAUNCH longer than this → the attempt is abandoned and retried. */
  launchTimeoutMs: number;
  reconnect: {
    /** Delay before the first retry after a transient drop. */
    baseMs: number;
    /** Ceiling of the exponential delay. */
    maxMs: number;
    /** Fraction of the delay that is randomised (0 = none, 1 = full jitter). */
    jitter: number;
    /** Consecutive failed attempts before the channel gives up with ERROR. */
    maxFailures: number;
  };
  /** Pairing rounds without a scan before the channel parks. */
  qrMaxRounds: number;
  flap: {
    /** Drops out of AUTH within `windowMs` that count as flapping. */
    drops: number;
    windowMs: number;
  };
}

export const DEFAULT_LIFECYCLE: LifecycleConfig = {
  initTimeoutMs: 45_000,
  launchTimeoutMs: 60_000,
  reconnect: { baseMs: 1_000, maxMs: 60_000, jitter: 0.5, maxFailures: 10 },
  qrMaxRounds: 5,
  flap: { drops: 3, windowMs: 15 * 60_000 },
};

/**
 * The delay before reconnect attempt `failures` (1-based): exponential from `baseMs`, capped
 * at `maxMs`, with the top `jitter` fraction randomised so that many channels dropped by one
 * network fault do not reconnect in lockstep.
 */
export function backoffDelay(config: LifecycleConfig['reconnect'], failures: number, random: number): number {
  const exp = Math.min(config.maxMs, config.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (1 - config.jitter) + exp * config.jitter * random);
}
