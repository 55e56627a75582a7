import { Type, type Static } from '@sinclair/typebox';

/** Whapi's error body: `{"error":{"code":401,"message":"...","details":"..."}}`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Integer(),
      message: Type.String(),
      details: Type.Optional(Type.String()),
    }),
  },
  { $id: 'ResponseError' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** The messages clients match on; spelled once here. */
export const ERROR_MESSAGES = {
  needChannelAuthorization: 'need channel authorization',
  invalidToken: 'invalid or missing token',
  adminRequired: 'admin token required',
  notFound: 'not found',
  methodNotAllowed: 'method not allowed',
  badRequest: 'bad request',
  payloadTooLarge: 'payload too large',
  alreadyAuthenticated: 'Channel already authenticated',
  alreadyLoggedOut: 'Channel already logged out',
  invalidPhone: 'Invalid phone number',
  conflict: 'conflict',
  webhookGone: 'webhook no longer exists',
  internal: 'internal error',
  unavailable: 'service unavailable',
  storeUnavailable: 'store unavailable',
  tooManyRequests: 'too many requests',
  requestTimeout: 'request timeout',
} as const;

/** Seconds a client should wait before retrying a request that failed because the store did. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** A failure that maps to one HTTP status and Whapi's error shape. */
export class ApiError extends Error {
  /** Seconds the client should wait before it tries again (sent as `Retry-After`). */
  retryAfterSeconds?: number;

  constructor(
    readonly status: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The wire body of this error. */
  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.status, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** Shorthands for the errors services raise. */
export const errors = {
  badRequest: (details: string) => new ApiError(400, ERROR_MESSAGES.badRequest, details),
  invalidToken: (details: string) => new ApiError(401, ERROR_MESSAGES.invalidToken, details),
  needAuthorization: (details: string) =>
    new ApiError(401, ERROR_MESSAGES.needChannelAuthorization, details),
  adminRequired: (details: string) => new ApiError(403, ERROR_MESSAGES.adminRequired, details),
  notFound: (details: string) => new ApiError(404, ERROR_MESSAGES.notFound, details),
  conflict: (message: string, details?: string) => new ApiError(409, message, details),
  unsupportedMediaType: (details: string) => new ApiError(415, 'unsupported media type', details),
  storeUnavailable: (details: string) => new ApiError(503, ERROR_MESSAGES.storeUnavailable, details),
  tooManyRequests: (details: string, retryAfterSeconds: number) =>
    Object.assign(new ApiError(429, ERROR_MESSAGES.tooManyRequests, details), { retryAfterSeconds }),
};
