import type { Effect } from '../channel/lifecycle.js';
import type { ProxyHealth } from '@wagate/protocol';
import { isDrop } from '../remediation/observe.js';

const HOUR_MS = 60 * 60_000;
/** Times to AUTH kept per proxy for the median. */
const AUTH_SAMPLES = 20;

export interface HealthLimits {
  /** Drops out of AUTH per hour at which a proxy is bad (and a flapping channel's move quarantines it). */
  badDropsPerHour: number;
  /** Failed connects per hour at which a proxy is bad. */
  badFailedPerHour: number;
}

interface Book {
  connects: number[];
  failed: number[];
  drops: number[];
  authMs: number[];
  /** When each channel last flapped on this proxy. */
  flaps: Map<string, number>;
  lastError: string | null;
}

/**
 * A proxy's health, from what the channels on it recorded: connects that failed, drops per hour,
 * time to AUTH. Kept in memory over a rolling hour (a restart of the gateway starts afresh).
 */
export class ProxyHealthBook {
  private books = new Map<string, Book>();
  /** When each channel's live attempt began, for its time to AUTH. */
  private connecting = new Map<string, number>();

  constructor(private readonly limits: HealthLimits) {}

  /** A committed lifecycle step of a channel that is on `proxyId`. */
  observe(proxyId: string, channelId: string, effects: Effect[], now: number): void {
    const b = this.book(proxyId);
    for (const e of effects) {
      if (e.kind === 'connect') {
        b.connects.push(now);
        this.connecting.set(channelId, now);
      } else if (e.kind === 'record') {
        const { from, to, reason } = e.entry;
        if (from === to) {
          if (reason === 'flapping') b.flaps.set(channelId, now);
          continue;
        }
        const up = from === 'AUTH' || from === 'SYNC_ERROR';
        if (to === 'AUTH') {
          const since = this.connecting.get(channelId);
          if (since !== undefined) b.authMs = [...b.authMs.slice(-(AUTH_SAMPLES - 1)), now - since];
          this.connecting.delete(channelId);
        } else if (isDrop(e.entry)) {
          b.drops.push(now);
        } else if (!up && (from === 'INIT' || from === 'LAUNCH') && (to === 'INIT' || to === 'ERROR') && reason !== 'remediation' && !reason.startsWith('operator')) {
          b.failed.push(now);
        }
      }
    }
    this.prune(b, now);
  }

  /** The last connect error through the proxy (shown to the admin only). */
  noteError(proxyId: string, detail: string): void {
    this.book(proxyId).lastError = detail;
  }

  /** How many other channels flapped on the proxy within `windowMs`. */
  othersFlapping(proxyId: string, channelId: string, now: number, windowMs: number): number {
    const b = this.books.get(proxyId);
    if (!b) return 0;
    return [...b.flaps].filter(([id, at]) => id !== channelId && at > now - windowMs).length;
  }

  report(proxyId: string, now: number): ProxyHealth {
    const b = this.book(proxyId);
    this.prune(b, now);
    const sorted = [...b.authMs].sort((x, y) => x - y);
    return {
      status: this.status(b),
      connects: b.connects.length,
      failed_connects: b.failed.length,
      drops: b.drops.length,
      time_to_auth_ms: sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)]! : null,
      last_error: b.lastError,
    };
  }

  forget(proxyId: string): void {
    this.books.delete(proxyId);
  }

  private status(b: Book): ProxyHealth['status'] {
    if (b.drops.length >= this.limits.badDropsPerHour || b.failed.length >= this.limits.badFailedPerHour) return 'bad';
    if (b.connects.length === 0 && b.authMs.length === 0) return 'unknown';
    if (b.drops.length > 0 || b.failed.length > 0) return 'degraded';
    return 'healthy';
  }

  private prune(b: Book, now: number): void {
    const since = now - HOUR_MS;
    b.connects = b.connects.filter((t) => t > since);
    b.failed = b.failed.filter((t) => t > since);
    b.drops = b.drops.filter((t) => t > since);
  }

  private book(proxyId: string): Book {
    let b = this.books.get(proxyId);
    if (!b) {
      b = { connects: [], failed: [], drops: [], authMs: [], flaps: new Map(), lastError: null };
      this.books.set(proxyId, b);
    }
    return b;
  }
}

/** Lower is healthier: the pool picks the proxy with the lowest rank. */
export function healthRank(h: ProxyHealth): number {
  return { healthy: 0, unknown: 1, degraded: 2, bad: 3 }[h.status];
}
