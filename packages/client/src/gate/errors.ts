import { NEED_AUTHORIZATION } from '../protocol.js';

/** What went wrong with a gate API call, as a discriminant for `switch (err.kind)`. */
export type GateErrorKind =
  | 'need_authorization'
  | 'invalid_token'
  | 'rate_limited'
  | 'bad_request'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'server'
  | 'network'
  | 'unexpected';

interface Failure {
  method: string;
  path: string;
  status: number;
  /** Whapi's `error.message`, or a description when the body had none. */
  message: string;
  details?: string;
  /** The parsed error body (or its text). */
  body?: unknown;
  cause?: unknown;
}

/** The base of every error a `GateClient` call throws. */
export abstract class GateError extends Error {
  abstract readonly kind: GateErrorKind;
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly details: string | undefined;
  readonly body: unknown;

  constructor(f: Failure) {
    super(f.details ? `${f.method} ${f.path}: ${f.status} ${f.message} (${f.details})` : `${f.method} ${f.path}: ${f.status} ${f.message}`, { cause: f.cause });
    this.status = f.status;
    this.method = f.method;
    this.path = f.path;
    this.details = f.details;
    this.body = f.body;
  }
}

/** 401 `need channel authorization`: the channel is not AUTH (a reconnect, a logout); worth retrying. */
export class NeedAuthorizationError extends GateError {
  readonly kind = 'need_authorization';
  override readonly name = 'NeedAuthorizationError';
}
/** 401 for any other reason: the token is wrong or revoked; retrying cannot help. */
export class InvalidTokenError extends GateError {
  readonly kind = 'invalid_token';
  override readonly name = 'InvalidTokenError';
}
/** 429: slow down; `retryAfterMs` from `Retry-After` when the server sent one. */
export class RateLimitedError extends GateError {
  readonly kind = 'rate_limited';
  override readonly name = 'RateLimitedError';
  constructor(
    f: Failure,
    readonly retryAfterMs: number | null,
  ) {
    super(f);
  }
}
/** 400 (and 413): the request is wrong; the same request will fail again. */
export class BadRequestError extends GateError {
  readonly kind = 'bad_request';
  override readonly name = 'BadRequestError';
}
/** 403: not allowed (an admin-only route, a plan limit). */
export class ForbiddenError extends GateError {
  readonly kind = 'forbidden';
  override readonly name = 'ForbiddenError';
}
export class NotFoundError extends GateError {
  readonly kind = 'not_found';
  override readonly name = 'NotFoundError';
}
/** 409: `Channel already authenticated`, `Idempotency-Key reused`, `send outcome unknown`, ... */
export class ConflictError extends GateError {
  readonly kind = 'conflict';
  override readonly name = 'ConflictError';
}
/** 5xx: the server failed; `retryAfterMs` when it sent `Retry-After` (503). */
export class ServerError extends GateError {
  readonly kind = 'server';
  override readonly name = 'ServerError';
  constructor(
    f: Failure,
    readonly retryAfterMs: number | null,
  ) {
    super(f);
  }
}
/** No answer: refused, reset, DNS, or the request timed out (`timedOut`). The request may have been processed. */
export class NetworkError extends GateError {
  readonly kind = 'network';
  override readonly name = 'NetworkError';
  constructor(
    f: Failure,
    readonly timedOut: boolean,
  ) {
    super(f);
  }
}
/** Any other answer: an unexpected status, or a success body that is not what the route promises. */
export class UnexpectedResponseError extends GateError {
  readonly kind = 'unexpected';
  override readonly name = 'UnexpectedResponseError';
}

/** Every concrete gate error: narrow on `kind`. */
export type AnyGateError =
  | NeedAuthorizationError
  | InvalidTokenError
  | RateLimitedError
  | BadRequestError
  | ForbiddenError
  | NotFoundError
  | ConflictError
  | ServerError
  | NetworkError
  | UnexpectedResponseError;

/** Whether `err` came from a `GateClient` call. */
export function isGateError(err: unknown): err is AnyGateError {
  return err instanceof GateError;
}

/** `Retry-After` (delta seconds or an HTTP date) in milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The typed error for a non-2xx answer. */
export function errorFromAnswer(method: string, path: string, status: number, body: unknown, headers: Headers, now: number): AnyGateError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: { message?: unknown; details?: unknown } }).error : undefined;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const details = typeof error?.details === 'string' ? error.details : typeof body === 'string' && body ? body.slice(0, 500) : undefined;
  const f: Failure = { method, path, status, message, details, body };
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (status === 401) {
    return message.trim().toLowerCase() === NEED_AUTHORIZATION.toLowerCase() ? new NeedAuthorizationError(f) : new InvalidTokenError(f);
  }
  if (status === 429) return new RateLimitedError(f, retryAfter);
  if (status === 400 || status === 413 || status === 422) return new BadRequestError(f);
  if (status === 403) return new ForbiddenError(f);
  if (status === 404) return new NotFoundError(f);
  if (status === 409) return new ConflictError(f);
  if (status >= 500 && status <= 599) return new ServerError(f, retryAfter);
  return new UnexpectedResponseError(f);
}
