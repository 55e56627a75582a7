import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks (standardwebhooks.com): a `whsec_`-prefixed base64 key, and a signature
// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` in the `webhook-signature` header.
const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// The spec asks for keys of 24 to 64 bytes; shorter ones are too weak, longer ones pointless.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export interface SignInput {
  secret: string;
  id: string;
  /** Unix seconds, the same value sent in `webhook-timestamp`. */
  timestamp: number;
  body: string;
}

/** Why a `whsec_...` secret is unusable, or null when it is fine. */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(PREFIX)) return `must start with "${PREFIX}"`;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return `must be "${PREFIX}" followed by base64`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    return `key must be ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes, got ${bytes}`;
  }
  return null;
}

/** The `webhook-signature` header value for one delivery attempt. */
export function sign({ secret, id, timestamp, body }: SignInput): string {
  const problem = secretProblem(secret);
  if (problem) throw new Error(`webhook secret ${problem}`);
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** A fresh random signing secret in Standard Webhooks form. */
export function generateSecret(): string {
  return PREFIX + randomBytes(MIN_KEY_BYTES).toString('base64');
}
