import { isIPv6 } from 'node:net';
import { errors } from '@wagate/protocol';

export interface AuthLimiterOptions {
  /** Failed authentications an address may make per window before it is refused. */
  limit: number;
  windowMs: number;
  now: () => number;
  /** Addresses remembered at most; the longest-quiet ones are forgotten first. */
  maxTracked?: number;
}

interface Bucket {
  /** Failures not yet leaked away. */
  level: number;
  at: number;
}

/**
 * Rate-limits failed authentication per client address with a leaky bucket: `limit` failures
 * drain away over `windowMs`. An address whose bucket is full is refused (429) on every
 * authenticated request, a correct token included, or the guessing would simply go on; an
 * address that fails nothing is never counted or slowed.
 */
export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly maxTracked: number;

  constructor(private readonly opts: AuthLimiterOptions) {
    this.rate = opts.limit / opts.windowMs;
    this.maxTracked = opts.maxTracked ?? 10_000;
  }

  /** Throws 429 (with Retry-After) when this address has used up its failures. */
  check(ip: string): void {
    // Every authenticated request passes here; with no failure on record there is no key to work out.
    if (this.buckets.size === 0) return;
    const bucket = this.buckets.get(addressKey(ip));
    if (!bucket) return;
    const level = this.drain(bucket);
    if (level + 1 <= this.opts.limit) return;
    const waitMs = (level + 1 - this.opts.limit) / this.rate;
    throw errors.tooManyRequests(
      `too many failed authentications from this address: wait ${Math.ceil(waitMs / 1000)} s before trying again`,
      Math.max(1, Math.ceil(waitMs / 1000)),
    );
  }

  /** Records one failed authentication from this address. */
  fail(ip: string): void {
    const key = addressKey(ip);
    const bucket = this.buckets.get(key);
    const level = bucket ? this.drain(bucket) : 0;
    // Re-inserted, so the map's order is least recently failed first.
    this.buckets.delete(key);
    this.buckets.set(key, { level: level + 1, at: this.opts.now() });
    if (this.buckets.size > this.maxTracked) this.forgetOldest();
  }

  /** The bucket's level now, after what leaked away since it was last touched. */
  private drain(bucket: Bucket): number {
    const now = this.opts.now();
    return Math.max(0, bucket.level - (now - bucket.at) * this.rate);
  }

  private forgetOldest(): void {
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      if (this.buckets.size <= this.maxTracked * 0.9) return;
    }
  }
}

/**
 * The unit an address is counted in: an IPv4 address, or an IPv6 /64 (one host usually holds
 * a whole /64, so counting single IPv6 addresses would let it rotate through them).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
