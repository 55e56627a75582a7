// When to retry, when to stop: the whole delivery policy (SPEC §5) in one place.

export interface DelayInput {
  /** How many attempts have failed so far (1 after the first failure). */
  attempt: number;
  backoffDelayMs: number;
  maxBackoffDelayMs: number;
  /** From the receiver's `Retry-After`, when it sent one on a 429 or 503. */
  retryAfterMs?: number;
}

export type ResponseClass = { kind: 'success' } | { kind: 'retry'; retryAfterMs?: number } | { kind: 'gone' };

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface RetryPlanInput extends DelayInput {
  /** When the event was created (unix ms): a delivery's age counts from there. */
  createdAt: number;
  now: number;
  maxAgeSeconds: number;
}

export type RetryPlan = { kind: 'retry'; at: number; delayMs: number } | { kind: 'give_up'; reason: string };

// Only these statuses make `Retry-After` binding: they are the ones that mean "come back later".
const HONOURS_RETRY_AFTER = new Set([429, 503]);

/** Whapi's linear backoff: `attempt × backoffDelayMs`, capped at the maximum, and never sooner than Retry-After. */
export function nextAttemptDelay({ attempt, backoffDelayMs, maxBackoffDelayMs, retryAfterMs }: DelayInput): number {
  const linear = Math.min(Math.max(1, attempt) * backoffDelayMs, maxBackoffDelayMs);
  // Retry-After is honoured even past the cap: the receiver asked, and max age still bounds it.
  return Math.max(linear, retryAfterMs ?? 0);
}

/** What a receiver's answer means for the delivery: done, try again, or the webhook is gone. */
export function classifyResponse(status: number, headers: ResponseHeaders = {}, now = Date.now()): ResponseClass {
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 410) return { kind: 'gone' };
  if (HONOURS_RETRY_AFTER.has(status)) {
    const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), now);
    return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs };
  }
  // Everything else, 3xx included (redirects are never followed), is a failure to retry.
  return { kind: 'retry' };
}

/** Whether a delivery is past its webhook's `webhook_max_age_seconds` and must be given up. */
export function isExpired(createdAt: number, now: number, maxAgeSeconds: number): boolean {
  return now - createdAt >= maxAgeSeconds * 1000;
}

/**
 * After a failed attempt: when to try next, or give up because the next attempt would come
 * after the event's max age (the delivery is then kept as failed and can be replayed).
 */
export function planRetry(input: RetryPlanInput): RetryPlan {
  const { createdAt, now, maxAgeSeconds } = input;
  if (isExpired(createdAt, now, maxAgeSeconds)) return { kind: 'give_up', reason: `older than ${maxAgeSeconds}s` };
  const delayMs = nextAttemptDelay(input);
  const at = now + delayMs;
  if (isExpired(createdAt, at, maxAgeSeconds)) {
    return { kind: 'give_up', reason: `next attempt would be past the max age of ${maxAgeSeconds}s` };
  }
  return { kind: 'retry', at, delayMs };
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse is lenient; insist on something that looks like an HTTP-date before trusting it.
  if (!/^[A-Za-z]{3,9},? /.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name] ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? ''];
  return Array.isArray(value) ? value[0] : value;
}
