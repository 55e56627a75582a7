import { describe, expect, it } from 'vitest';
import { classifyResponse, isExpired, nextAttemptDelay, parseRetryAfter, planRetry } from './policy.js';

const backoff = { backoffDelayMs: 3000, maxBackoffDelayMs: 900_000 };
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('nextAttemptDelay', () => {
  it('grows linearly with the number of failed attempts', () => {
    expect([1, 2, 3, 10].map((attempt) => nextAttemptDelay({ attempt, ...backoff }))).toEqual([
      3000, 6000, 9000, 30000,
    ]);
  });

  it('is capped at max_callback_backoff_delay_ms', () => {
    expect(nextAttemptDelay({ attempt: 1000, ...backoff })).toBe(900_000);
  });

  it('waits at least as long as Retry-After asks', () => {
    expect(nextAttemptDelay({ attempt: 1, ...backoff, retryAfterMs: 120_000 })).toBe(120_000);
    expect(nextAttemptDelay({ attempt: 5, ...backoff, retryAfterMs: 1000 })).toBe(15_000);
  });
});

describe('classifyResponse', () => {
  it.each([200, 201, 204, 299])('treats %i as success', (status) => {
    expect(classifyResponse(status)).toEqual({ kind: 'success' });
  });

  it.each([301, 302, 307, 308, 400, 401, 404, 500, 502])('retries a %i', (status) => {
    expect(classifyResponse(status)).toEqual({ kind: 'retry' });
  });

  it('reports 410 as gone', () => {
    expect(classifyResponse(410)).toEqual({ kind: 'gone' });
  });

  it('retries a 503 after Retry-After seconds', () => {
    expect(classifyResponse(503, { 'retry-after': '120' }, NOW)).toEqual({ kind: 'retry', retryAfterMs: 120_000 });
  });

  it('retries a 429 after a Retry-After HTTP-date', () => {
    const date = new Date(NOW + 90_000).toUTCString();
    expect(classifyResponse(429, { 'Retry-After': date }, NOW)).toEqual({ kind: 'retry', retryAfterMs: 90_000 });
  });

  it('ignores Retry-After on statuses that do not mean "come back later"', () => {
    expect(classifyResponse(500, { 'retry-after': '120' }, NOW)).toEqual({ kind: 'retry' });
  });

  it('ignores a malformed Retry-After', () => {
    expect(classifyResponse(429, { 'retry-after': 'soon' }, NOW)).toEqual({ kind: 'retry' });
    expect(classifyResponse(429, { 'retry-after': '-5' }, NOW)).toEqual({ kind: 'retry' });
  });
});

describe('parseRetryAfter', () => {
  it('reads a past HTTP-date as "now"', () => {
    expect(parseRetryAfter(new Date(NOW - 10_000).toUTCString(), NOW)).toBe(0);
  });

  it('reads the obsolete RFC 850 date form', () => {
    expect(parseRetryAfter('Wednesday, 01-Jan-25 12:01:00 GMT', NOW)).toBe(60_000);
  });
});

describe('isExpired and planRetry', () => {
  it('expires a delivery once webhook_max_age_seconds have passed since the event', () => {
    expect(isExpired(NOW, NOW + 14_999, 15)).toBe(false);
    expect(isExpired(NOW, NOW + 15_000, 15)).toBe(true);
  });

  it('schedules the next attempt by the linear backoff', () => {
    const plan = planRetry({ attempt: 2, ...backoff, createdAt: NOW, now: NOW + 3000, maxAgeSeconds: 172_800 });
    expect(plan).toEqual({ kind: 'retry', at: NOW + 9000, delayMs: 6000 });
  });

  it('gives up when the next attempt would fall past the max age', () => {
    const plan = planRetry({ attempt: 3, ...backoff, createdAt: NOW, now: NOW + 9000, maxAgeSeconds: 15 });
    expect(plan.kind).toBe('give_up');
  });

  it('gives up on a delivery already past its max age', () => {
    const plan = planRetry({ attempt: 1, ...backoff, createdAt: NOW, now: NOW + 20_000, maxAgeSeconds: 15 });
    expect(plan).toEqual({ kind: 'give_up', reason: 'older than 15s' });
  });
});
