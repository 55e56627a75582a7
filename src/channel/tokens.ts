import { hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A new secret token: 32 random bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The stored form of a token. Tokens are high-entropy, so a plain SHA-256 is enough. One-shot
 * `crypto.hash`: every authenticated request hashes its token, and a Hash object costs twice as much.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** Compares two token hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

const WORDS = [
  'MANTIS', 'FALCON', 'OTTER', 'BADGER', 'HERON', 'LYNX', 'MARLIN', 'PANDA', 'RAVEN', 'TAPIR',
  'BISON', 'COBRA', 'GECKO', 'IBIS', 'KOALA', 'LEMUR', 'MOOSE', 'NEWT', 'ORCA', 'PUFFIN',
];
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A channel id in Whapi's style: an upper-case word, a dash, five characters (`MANTIS-M72HC`). */
export function newChannelId(): string {
  let tail = '';
  for (let i = 0; i < 5; i++) tail += ALPHABET[randomInt(ALPHABET.length)];
  return `${WORDS[randomInt(WORDS.length)]}-${tail}`;
}

export const CHANNEL_ID_PATTERN = '^[A-Z]+-[A-Z0-9]{5}$';
