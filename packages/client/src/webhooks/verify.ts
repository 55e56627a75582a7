import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers as Node (`IncomingHttpHeaders`), fetch (`Headers`) or a plain record give them. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** What a verified delivery carries besides its body. */
export interface VerifiedWebhook {
  /** `webhook-id`: stable across retries of one event, the receiver's dedupe key. */
  id: string;
  /** `webhook-timestamp`, unix seconds. */
  timestamp: number;
}

export type VerificationFailure = 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'no_matching_signature' | 'invalid_secret';

/** A delivery whose Standard Webhooks signature does not check out. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyOptions {
  /** Accepted distance between `webhook-timestamp` and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time in unix milliseconds (for tests). */
  now?: () => number;
}

const PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/**
 * Verifies a Standard Webhooks delivery (standardwebhooks.com): a `v1` HMAC-SHA256 of
 * `${id}.${timestamp}.${body}` with the `whsec_` key, compared in constant time against each
 * signature in `webhook-signature`, and a timestamp within 5 minutes of now. `secret` may list
 * several keys (during a rotation). Returns the delivery's id and timestamp; throws
 * `WebhookVerificationError` otherwise. `rawBody` must be the bytes as received.
 */
export function verifyWebhook(secret: string | readonly string[], headers: HeaderSource, rawBody: string | Uint8Array, options: VerifyOptions = {}): VerifiedWebhook {
  const id = header(headers, 'webhook-id') ?? header(headers, 'svix-id');
  const stamp = header(headers, 'webhook-timestamp') ?? header(headers, 'svix-timestamp');
  const signatures = header(headers, 'webhook-signature') ?? header(headers, 'svix-signature');
  if (!id || !stamp || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!/^\d{1,12}$/.test(stamp)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be unix seconds');
  const timestamp = Number(stamp);
  const nowSeconds = Math.floor((options.now?.() ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (timestamp < nowSeconds - tolerance) throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is too old');
  if (timestamp > nowSeconds + tolerance) throw new WebhookVerificationError('timestamp_too_new', 'webhook-timestamp is in the future');

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), body]);
  const offered = signatures
    .split(' ')
    .map((entry) => entry.split(','))
    .filter(([version, value]) => version === 'v1' && value)
    .map(([, value]) => Buffer.from(value as string, 'base64'));
  for (const key of (typeof secret === 'string' ? [secret] : secret).map(keyBytes)) {
    const expected = createHmac('sha256', key).update(signed).digest();
    // Every candidate is compared (no early exit on a length match) so timing reveals nothing.
    let match = false;
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
    }
    if (match) return { id, timestamp };
  }
  throw new WebhookVerificationError('no_matching_signature', 'no webhook-signature matches the secret');
}

function keyBytes(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('invalid_secret', 'the webhook secret must be whsec_ followed by base64');
  return key;
}

/** One header's value, case-insensitively, from any header source. */
export function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(' ') : value;
}
