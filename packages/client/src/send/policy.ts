import { isGateError, type AnyGateError } from '../gate/errors.js';

/** Exponential backoff with jitter, up to `maxAttempts` retries of one kind. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Retries of this kind before the message fails. */
  maxRetries: number;
}

/** When a send is tried again. Only failures after which a retry is safe and may help are retried. */
export interface RetryPolicy {
  /** 401 `need channel authorization`: the channel is reconnecting or being paired again. */
  authorization: Backoff;
  /** 429, 5xx and network errors (safe: every attempt carries the message's Idempotency-Key). */
  transient: Backoff;
  /** A `Retry-After` longer than this fails the message instead of holding its chat (default 5 min). */
  maxRetryAfterMs: number;
  /** How long a message waits for the tracker to report a sendable status before it fails (default 10 min). */
  maxWaitForAuthMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  authorization: { baseMs: 500, maxMs: 15_000, maxRetries: 12 },
  transient: { baseMs: 500, maxMs: 30_000, maxRetries: 8 },
  maxRetryAfterMs: 5 * 60_000,
  maxWaitForAuthMs: 10 * 60_000,
};

export type RetryReason = 'authorization' | 'rate_limited' | 'server' | 'network';
export type RetryDecision = { retry: true; delayMs: number; reason: RetryReason } | { retry: false };

/** Retries used so far, per budget. */
export interface RetryCounts {
  authorization: number;
  transient: number;
}

/** `base·2ⁿ` capped at `max`, of which the upper half is random ("equal jitter"): never 0, never in lockstep. */
export function backoffDelay(b: Backoff, retry: number, random: number): number {
  const exp = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/**
 * Whether to retry after `error`. Never retried: 400 (the same request fails again), 403, 404,
 * 409 (a reused key or an unknown outcome needs a human), an invalid token, anything unexpected.
 */
export function decideRetry(error: unknown, counts: RetryCounts, policy: RetryPolicy, random: number): RetryDecision {
  if (!isGateError(error)) return { retry: false };
  const e: AnyGateError = error;
  switch (e.kind) {
    case 'need_authorization':
      if (counts.authorization >= policy.authorization.maxRetries) return { retry: false };
      return { retry: true, reason: 'authorization', delayMs: backoffDelay(policy.authorization, counts.authorization + 1, random) };
    case 'rate_limited':
    case 'server':
    case 'network': {
      if (counts.transient >= policy.transient.maxRetries) return { retry: false };
      const fallback = backoffDelay(policy.transient, counts.transient + 1, random);
      const retryAfter = e.kind === 'network' ? null : e.retryAfterMs;
      if (retryAfter !== null && retryAfter > policy.maxRetryAfterMs) return { retry: false };
      const reason = e.kind === 'rate_limited' ? 'rate_limited' : e.kind;
      return { retry: true, reason, delayMs: retryAfter ?? fallback };
    }
    default:
      return { retry: false };
  }
}
