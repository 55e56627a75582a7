import type { HistoryEntry } from '@wagate/protocol';
import type { DeliveryFilter, DeliveryTarget, NewChannel, OutboundEvent } from '../types.js';

/** A unix-ms time above 2^32: a 32-bit column or a bigint returned as a string would show. */
export const T0 = 1_713_774_883_123;

let serial = 0;

/** A valid new channel, unique within the process; `overrides` replace any field. */
export function newChannel(overrides: Partial<NewChannel> = {}): NewChannel {
  serial += 1;
  const n = String(serial).padStart(5, '0');
  return {
    id: `TEST-${n}`,
    name: `channel ${n}`,
    engine: 'sandbox',
    tokenHash: `hash-${n}-${Math.random().toString(36).slice(2)}`,
    createdAt: T0 + serial,
    settings: { callback_backoff_delay_ms: 3000, webhooks: [] },
    engineOptions: { init_ms: 200 },
    ...overrides,
  };
}

/** A history row (`detail` only when given). */
export function historyEntry(
  at: number,
  from: HistoryEntry['from'],
  to: HistoryEntry['to'],
  detail?: string,
): HistoryEntry {
  const entry: HistoryEntry = { at, from, to, reason: `${from}->${to}` };
  return detail === undefined ? entry : { ...entry, detail };
}

/** A channel.post event in its wire envelope. */
export function statusEvent(channelId: string, text: string, createdAt: number): OutboundEvent {
  return {
    name: 'channel.post',
    body: { health: { status: { text } }, event: { type: 'channel', event: 'post' }, channel_id: channelId },
    createdAt,
  };
}

/**
 * JSON that trips careless storage: key order, unicode beyond the BMP, escapes, floats, big
 * safe integers, empty containers, nulls inside objects and arrays.
 */
export const TRICKY_JSON: Record<string, unknown> = {
  zeta: 'last key first',
  alpha: { nested: [1, 'two', null, true, false, { deep: [] }], empty: {} },
  unicode: 'héllo wörld – 你好 – 🙂👍🏽 – \u2028\u2029',
  escapes: 'quote " backslash \\ newline \n tab \t',
  numbers: [0, -1, 0.1, 1.5e-7, 123456.789, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
  nothing: null,
  yes: true,
  list: [],
};

/** A webhook target (ordered by default); `overrides` replace any field. */
export function target(url: string, overrides: Partial<DeliveryTarget> = {}): DeliveryTarget {
  return {
    url,
    mode: 'body',
    headers: { 'X-Api-Key': 'k', authorization: 'Bearer t' },
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    maxAgeSeconds: 172_800,
    ordered: true,
    backoffDelayMs: 3000,
    maxBackoffDelayMs: 600_000,
    ...overrides,
  };
}

/** Every filter combination of the delivery log (the EXPLAIN tests check each one's plan). */
export const LOG_FILTERS: DeliveryFilter[] = [
  {},
  { channelId: 'C' },
  { status: 'delivered' },
  { channelId: 'C', status: 'failed' },
  { channelId: 'C', status: 'pending' },
  { channelId: 'C', since: 1, until: 2 },
  { status: 'delivered', since: 1 },
  { channelId: 'C', status: 'failed', since: 1, until: 5 },
  { channelId: 'C', before: 7 },
  { channelId: 'C', status: 'delivered', before: 7 },
];
