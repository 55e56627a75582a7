import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
import { DELIVERY_ANSWER_BYTES, WEBHOOK_RESERVED_HEADERS, type WebhookMode } from '@wagate/protocol';
import { AddressRefused, guardedConnector, type OutboundGuard } from './guard.js';
import { isSendableHeaderValue } from './settings.js';
import { classifyResponse } from './policy.js';
import { sign } from './signing.js';

export interface SenderOptions {
  /** Judges every connection (a test resolver goes in its `lookup`). */
  guard: OutboundGuard;
  /** One attempt's budget: the response's headers within it, then no pause longer than it in the body. */
  timeoutMs?: number;
}

/** Everything one delivery attempt needs; the caller keeps `webhookId` stable across retries. */
export interface DeliveryAttempt {
  url: string;
  mode: WebhookMode;
  /** The event's type and method (`messages`, `post`): they shape the URL and verb per mode. */
  eventType: string;
  method: string;
  /** The webhook's own headers. */
  headers: Record<string, string>;
  /** The JSON envelope, already serialised: what is signed is exactly what is sent. */
  body: string;
  webhookId: string;
  timestampSeconds: number;
  secret?: string;
}

export interface DeliveryResult {
  ok: boolean;
  status?: number;
  retryAfterMs?: number;
  /** The receiver answered 410: disable this webhook. */
  gone: boolean;
  error?: string;
  durationMs: number;
  /** The first bytes of the answer body (`DELIVERY_ANSWER_BYTES`), as text, when an answer came. */
  answer?: string;
}

export interface Sender {
  /** Makes one attempt; never throws, every failure is in the result. */
  send(attempt: DeliveryAttempt): Promise<DeliveryResult>;
  /** Closes pooled connections once in-flight attempts end. */
  close(): Promise<void>;
}

const USER_AGENT = 'wagate-webhooks';
// Enough to read a typical "ok" and keep the connection for reuse; a bigger body is cut off.
const MAX_RESPONSE_BODY = 64 * 1024;
// Headers wagate owns on every attempt; a webhook's own headers never replace them.
const NOT_CONFIGURABLE = new Set([...WEBHOOK_RESERVED_HEADERS, 'content-type']);

/** A sender with one keep-alive pool whose every connection goes through the SSRF guard. */
export function createSender({ guard, timeoutMs = 15_000 }: SenderOptions): Sender {
  const agent = new Agent({
    connect: guardedConnector(guard, { timeout: Math.min(timeoutMs, 10_000) }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  // undici's own timeouts (headers within the budget, then no pause in the body longer than it)
  // instead of an AbortController and a timer per attempt.
  async function send(attempt: DeliveryAttempt): Promise<DeliveryResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let status: number | undefined;
    try {
      const target = cachedTarget(attempt.url, attempt.mode, attempt.eventType, attempt.method);
      const response = await agent.request({
        origin: target.origin,
        path: target.path,
        method: target.verb as Dispatcher.HttpMethod,
        headers: deliveryHeaders(attempt),
        body: attempt.body,
      });
      status = response.statusCode;
      const head = keepHead(response.body);
      await response.body.dump({ limit: MAX_RESPONSE_BODY });
      const answer = head();
      // dump() settles on close whatever ended the body: a timeout in it is still a timeout.
      const cut = (response.body as { errored?: unknown }).errored;
      if ((cut as { code?: unknown } | undefined)?.code === 'UND_ERR_BODY_TIMEOUT') throw cut;
      const verdict = classifyResponse(status, response.headers);
      const durationMs = elapsed();
      if (verdict.kind === 'success') return { ok: true, status, gone: false, durationMs, answer };
      if (verdict.kind === 'gone') return { ok: false, status, gone: true, error: 'HTTP 410 Gone', durationMs, answer };
      const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      const result: DeliveryResult = { ok: false, status, gone: false, error: `HTTP ${status}${redirect}`, durationMs, answer };
      if (verdict.retryAfterMs !== undefined) result.retryAfterMs = verdict.retryAfterMs;
      return result;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      const during = status === undefined ? '' : ` reading the HTTP ${status} response body`;
      const error = timedOut ? `timeout after ${timeoutMs} ms${during}` : describeError(err);
      const result: DeliveryResult = { ok: false, gone: false, error, durationMs: elapsed() };
      if (status !== undefined) result.status = status;
      return result;
    }
  }

  return { send, close: () => agent.close() };
}

/**
 * Keeps the first `DELIVERY_ANSWER_BYTES` of an answer body as it streams by: a listener beside
 * `dump()` (which still reads the body to its end or its limit, so the connection is reused).
 * Answers the text kept so far; a body that broke off keeps what arrived.
 */
function keepHead(body: Dispatcher.ResponseData['body']): () => string {
  const head: Buffer[] = [];
  let kept = 0;
  const take = (chunk: Buffer): void => {
    const part = chunk.subarray(0, DELIVERY_ANSWER_BYTES - kept);
    head.push(part);
    kept += part.length;
    if (kept >= DELIVERY_ANSWER_BYTES) body.off('data', take);
  };
  body.on('data', take);
  // A cut inside a multi-byte character shows as U+FFFD, not as a failure; so does a NUL, which
  // PostgreSQL's text cannot hold.
  return () => Buffer.concat(head, kept).toString('utf8').replaceAll('\u0000', '\uFFFD');
}

/** Targets by mode, event and URL: parsing a URL per attempt is a measurable share of a send. */
const targets = new Map<string, { origin: string; path: string; verb: string }>();
const MAX_CACHED_TARGETS = 10_000;

function cachedTarget(url: string, mode: WebhookMode, eventType: string, method: string): { origin: string; path: string; verb: string } {
  const key = `${mode} ${eventType} ${method} ${url}`;
  let found = targets.get(key);
  if (!found) {
    const { url: target, verb } = deliveryTarget(url, mode, eventType, method);
    found = { origin: target.origin, path: `${target.pathname}${target.search}`, verb };
    if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
    targets.set(key, found);
  }
  return found;
}

/** Where and how an event is sent per mode: `body` POST url, `path` POST url/type/method, `method` VERB url/type. */
export function deliveryTarget(
  url: string,
  mode: WebhookMode,
  eventType: string,
  method: string,
): { url: URL; verb: string } {
  const target = new URL(url);
  target.hash = '';
  const base = target.pathname.replace(/\/+$/, '');
  switch (mode) {
    case 'body':
      return { url: target, verb: 'POST' };
    case 'path':
      target.pathname = `${base}/${eventType}/${method}`;
      return { url: target, verb: 'POST' };
    case 'method':
      target.pathname = `${base}/${eventType}`;
      return { url: target, verb: method.toUpperCase() };
  }
}

/** The headers of one attempt: the webhook's own first, then the ones wagate owns. */
export function deliveryHeaders(attempt: DeliveryAttempt): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(attempt.headers)) {
    const lower = name.toLowerCase();
    // Settings validation already refuses these; stored settings from elsewhere might not.
    if (NOT_CONFIGURABLE.has(lower) || !isSendableHeaderValue(value)) continue;
    headers[lower] = value;
  }
  headers['content-type'] = 'application/json';
  headers['webhook-id'] = attempt.webhookId;
  headers['webhook-timestamp'] = String(attempt.timestampSeconds);
  if (attempt.secret) {
    headers['webhook-signature'] = sign({
      secret: attempt.secret,
      id: attempt.webhookId,
      timestamp: attempt.timestampSeconds,
      body: attempt.body,
    });
  }
  return headers;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof AddressRefused) return err.message;
  // Connection errors from happy-eyeballs arrive as an AggregateError with an empty message.
  const inner = err instanceof AggregateError && err.errors[0] instanceof Error ? err.errors[0] : err;
  const code = (inner as NodeJS.ErrnoException).code ?? (err as NodeJS.ErrnoException).code;
  const message = inner.message || err.message || 'connection failed';
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
