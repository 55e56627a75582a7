import { afterEach } from 'vitest';
import { VirtualClock } from '../../src/channel/clock.js';
import type { LookupAll } from '../../src/webhooks/guard.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Flakiness, type Receiver, type Received } from '../support/receiver.js';

// Shared set-up for the webhook tests: gateways and receivers that close after each test, and
// readers for what a receiver saw and what the delivery log says.

/** Sandbox timings that reach QR in 40 ms (virtual or real). */
export const FAST = { init_ms: 20, launch_ms: 20 };

/** The four channel lifecycle events of SPEC §5. */
export const LIFECYCLE_EVENTS = ['channel.post', 'channel.patch', 'users.post', 'users.delete'] as const;

/** A delivery as `GET /webhooks/deliveries` lists it. */
export interface DeliveryRow {
  id: number;
  webhook_id: string;
  event: { type: string; event: string };
  channel_id: string;
  url: string;
  mode: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  delivered_at: number | null;
  last_status: number | null;
  last_error: string | null;
  replay_of: number | null;
}

const closers: Array<() => Promise<void>> = [];
let hooked = false;

/** Registers the after-each clean-up once per test file: receivers first, so no attempt hangs on close. */
export function closeAfterEach(): void {
  if (hooked) return;
  hooked = true;
  afterEach(async () => {
    const all = closers.splice(0);
    for (const close of all) await close();
  });
}

/** A virtual clock on whole seconds near the wall clock (so Standard Webhooks' tolerance accepts it). */
export function virtualClock(): VirtualClock {
  return new VirtualClock(Math.floor(Date.now() / 1000) * 1000);
}

/** Starts a gateway that closes after the test. */
export async function gateway(opts: { clock?: VirtualClock; env?: Record<string, string>; lookup?: LookupAll } = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ clock: opts.clock, lookup: opts.lookup, env: { WAGATE_LOG_LEVEL: 'silent', ...opts.env } });
  closers.push(() => gw.close());
  return gw;
}

/** Starts a receiver that closes after the test (before the gateways). */
export async function receiver(flaky: Flakiness = {}): Promise<Receiver> {
  const r = await startReceiver(flaky);
  closers.unshift(() => r.close());
  return r;
}

/** `['channel.post', ...]` as a webhook's `events`. */
export function events(...names: string[]): Array<{ type: string; method: string }> {
  return names.map((n) => {
    const [type, method] = n.split('.') as [string, string];
    return { type, method };
  });
}

/** `type.method` of a received event, from its envelope. */
export function eventOf(r: Received): string {
  const e = r.json.event as { type: string; event: string } | undefined;
  return e ? `${e.type}.${e.event}` : '';
}

/** The status text of a received `channel.post`. */
export function statusOf(r: Received): string | undefined {
  return (r.json.health as { status?: { text?: string } } | undefined)?.status?.text;
}

/** The first arrival of each webhook-id, in arrival order (retries dropped). */
export function firstArrivals(received: Received[]): Received[] {
  const seen = new Set<string>();
  return received.filter((r) => {
    const id = String(r.headers['webhook-id']);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The sequence number inside a `msg_<seq>` webhook-id. */
export function seqOf(r: Received): number {
  return Number(String(r.headers['webhook-id']).replace(/^msg_/, ''));
}

/** The delivery log of the channel behind `gate`. */
export async function deliveries(gate: Call, query = 'count=500'): Promise<{ deliveries: DeliveryRow[]; total: number; count: number; offset: number }> {
  const res = await gate('GET', `/webhooks/deliveries?${query}`);
  if (res.status !== 200) throw new Error(`GET /webhooks/deliveries answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until the receiver holds at least `n` requests. */
export async function received(r: Receiver, n: number, what = `${n} requests`): Promise<void> {
  await until(() => r.received.length >= n, what);
}

/** Waits until the channel is in `text`, moving virtual time in small steps if a clock is given. */
export async function reach(gate: Call, text: string, clock?: VirtualClock): Promise<void> {
  await until(async () => {
    const res = await gate<{ status: { text: string } }>('GET', '/health?wakeup=false');
    if (res.body.status.text === text) return true;
    await clock?.advance(10);
    return false;
  }, `status ${text}`);
}

/** A webhook at `<receiver>/hook` subscribed to `channel.post`, with any field overridden. */
export function hook(r: Receiver, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { url: `${r.url}/hook`, events: events('channel.post'), ...extra };
}

/**
 * A channel whose whole life is one event: created without starting, then stopped
 * (NOT_INIT → STOP is one `channel.post`, and a stopped channel never moves by itself).
 */
export async function oneEventChannel(gw: TestGateway, settings: Record<string, unknown>): Promise<{ id: string; token: string; gate: Call }> {
  const ch = await gw.createChannel({ start: false, sandbox: FAST, settings });
  const res = await gw.partner('POST', `/partner/channels/${ch.id}/stop`);
  if (res.status !== 200) throw new Error(`stop answered ${res.status}`);
  return ch;
}

/** Waits until a delivery of the channel satisfies `probe`, and answers it. */
export async function deliveryWhere(gate: Call, probe: (d: DeliveryRow) => boolean, what: string): Promise<DeliveryRow> {
  let found: DeliveryRow | undefined;
  let last: DeliveryRow[] = [];
  await until(async () => {
    last = (await deliveries(gate)).deliveries;
    found = last.find(probe);
    return found !== undefined;
  }, what).catch((err: Error) => {
    throw new Error(`${err.message}; the log holds ${JSON.stringify(last)}`);
  });
  return found!;
}

/** Waits until the channel's delivery to `url` has recorded `n` attempts, and answers it. */
export function afterAttempts(gate: Call, n: number, url?: string): Promise<DeliveryRow> {
  return deliveryWhere(gate, (d) => (url === undefined || d.url === url) && d.attempts >= n, `${n} attempts${url ? ` to ${url}` : ''}`);
}

/** The `webhook-timestamp` of each request, in seconds. */
export function timestamps(rs: Received[]): number[] {
  return rs.map((r) => Number(r.headers['webhook-timestamp']));
}

/** Lets pending I/O and promise callbacks run (the dispatcher's pump takes a few turns). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Waits until no attempt is in flight and the dispatcher has gone back to sleep, then moves
 * virtual time. Moving time while an attempt's outcome is still being written would let the
 * dispatcher plan its next wake-up from a clock reading that is already stale.
 */
export async function advance(gw: TestGateway, clock: VirtualClock, ms: number): Promise<void> {
  await until(() => gw.gateway.webhooks.dispatcher.active === 0, 'no attempt in flight');
  await settle();
  await clock.advance(ms);
}
