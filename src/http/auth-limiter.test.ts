import { describe, expect, it } from 'vitest';
import type { ApiError } from '@wagate/protocol';
import { AuthFailureLimiter, addressKey } from './auth-limiter.js';

/** The 429 `check` throws, or null when the address may go on. */
function refusal(limiter: AuthFailureLimiter, ip: string): ApiError | null {
  try {
    limiter.check(ip);
    return null;
  } catch (err) {
    return err as ApiError;
  }
}

describe('AuthFailureLimiter', () => {
  it('refuses an address after `limit` failures and lets it in as they leak away, in virtual time', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ limit: 3, windowMs: 3000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(refusal(limiter, '10.0.0.1')).toBeNull();
      limiter.fail('10.0.0.1');
    }
    const error = refusal(limiter, '10.0.0.1');
    expect(error?.status).toBe(429);
    expect(error?.retryAfterSeconds).toBe(1);
    expect(refusal(limiter, '10.0.0.2')).toBeNull();
    now += 999;
    expect(refusal(limiter, '10.0.0.1')).not.toBeNull();
    now += 1;
    expect(refusal(limiter, '10.0.0.1')).toBeNull();
  });

  it('forgets the longest-quiet addresses beyond its bound', () => {
    const limiter = new AuthFailureLimiter({ limit: 1, windowMs: 60_000, now: () => 0, maxTracked: 100 });
    for (let i = 0; i < 150; i++) limiter.fail(`10.0.${Math.floor(i / 250)}.${i % 250}`);
    expect(refusal(limiter, '10.0.0.149')).not.toBeNull();
    expect(refusal(limiter, '10.0.0.0')).toBeNull();
  });
});

describe('addressKey', () => {
  it('counts IPv4 addresses alone, IPv4-mapped ones as IPv4, and IPv6 by /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
