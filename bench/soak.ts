/**
 * `npm run bench:soak`: 1,000,000 events (BENCH_SOAK_EVENTS) through the store on SQLite and on
 * PostgreSQL, in virtual time spread over three retention windows, each event with one delivery
 * that is claimed and recorded delivered, with the retention sweep (the gateway's own `Retention`,
 * default windows: 7 days for deliveries and events, 90 for history; history is written once a
 * virtual hour per channel) every virtual hour. Prints the database's size once a virtual day:
 * it must stop growing once the first window is reached.
 */
import { statSync } from 'node:fs';
import { VirtualClock } from '../src/channel/clock.js';
import { Retention, RETENTION_DEFAULTS } from '../src/store/retention.js';
import type { Store } from '../src/store/types.js';
import { fillChannels, fillTarget, withPg, type FillTarget } from './fill.js';
import { benchStore, measureEachStore } from './stores.js';

const EVENTS = Number(process.env.BENCH_SOAK_EVENTS ?? 1_000_000);
const CHANNELS = 100;
const PER_CHANGE = 50; // events per committed change
const DAY = 86_400_000;
const HOUR = 3_600_000;
const WINDOWS = RETENTION_DEFAULTS;
const SPAN_DAYS = 3 * WINDOWS.deliveriesDays;

async function sizeMb(to: FillTarget): Promise<number> {
  if (to.kind === 'sqlite') {
    const size = (path: string): number => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return (size(to.path) + size(`${to.path}-wal`)) / 1_048_576;
  }
  return withPg(to, async (c) => {
    const { rows } = await c.query<{ bytes: string }>(
      `SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))::text AS bytes FROM pg_tables WHERE schemaname = $1`,
      [to.schema],
    );
    return Number(rows[0]?.bytes ?? 0) / 1_048_576;
  });
}

async function soak(kind: string): Promise<Record<string, unknown>> {
  const db = await benchStore(kind, 'wagate-bench-soak-');
  const store: Store = await db.open({ sqliteSynchronous: 'normal' });
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const ids = Array.from({ length: CHANNELS }, (_, i) => `SOAK-${String(i).padStart(5, '0')}`);
  const target = fillTarget('https://receiver.test/hook');
  try {
    await fillChannels(db.to, ids.map((id, i) => ({ id, token: `soak-token-${i}-0123456789abcdef`, createdAt: clock.now(), status: 'AUTH', settings: {} })), {});
    const retention = new Retention({ store, clock, windows: WINDOWS });
    const stepMs = (SPAN_DAYS * DAY) / EVENTS;
    const sizes: Array<{ day: number; mb: number; pending: number }> = [];
    const pruned = { deliveries: 0, events: 0, history: 0 };
    const started = performance.now();
    let nextSweep = clock.now() + HOUR;
    let nextSize = clock.now() + DAY;
    for (let written = 0, n = 0; written < EVENTS; n++) {
      const channelId = ids[n % CHANNELS]!;
      const count = Math.min(PER_CHANGE, EVENTS - written);
      const at = clock.now();
      const events = Array.from({ length: count }, (_, i) => ({
        name: 'channel.post' as const,
        body: { health: { channel_id: channelId, status: { code: 4, text: 'AUTH' } }, event: { type: 'channel', event: 'post' }, seq: written + i },
        createdAt: at,
        targets: [target],
      }));
      await store.commitChange({ channelId, events });
      written += count;
      // Delivered as they come: claim what is due and record it.
      for (;;) {
        const due = await store.claimDeliveries(clock.now(), 500, 32, []);
        if (due.length === 0) break;
        await store.recordAttempts(due.map((d) => ({ id: d.id, result: { status: 'delivered', nextAttemptAt: clock.now(), at: clock.now(), lastStatus: 200, lastError: null } })));
      }
      await clock.advance(stepMs * count);
      while (clock.now() >= nextSweep) {
        // One status change per channel an hour, so history grows and is pruned too (90 days).
        for (const id of ids.slice(0, 10)) await store.commitChange({ channelId: id, history: [{ at: clock.now(), from: 'AUTH', to: 'AUTH', reason: 'soak' }] });
        const counts = await retention.sweep();
        pruned.deliveries += counts.deliveries;
        pruned.events += counts.events;
        pruned.history += counts.history;
        nextSweep += HOUR;
      }
      if (clock.now() >= nextSize) {
        const { pending } = await store.outboxDepth();
        sizes.push({ day: Math.round((nextSize - Date.UTC(2026, 0, 1)) / DAY), mb: +(await sizeMb(db.to)).toFixed(1), pending });
        nextSize += DAY;
      }
    }
    const window = sizes.filter((s) => s.day > WINDOWS.deliveriesDays + 1);
    return {
      store: kind,
      events: EVENTS,
      virtual_days: SPAN_DAYS,
      wall_s: +((performance.now() - started) / 1000).toFixed(1),
      pruned,
      size_mb_by_day: sizes,
      growth_after_the_window_mb: window.length > 1 ? +(window.at(-1)!.mb - window[0]!.mb).toFixed(1) : null,
      size_at_the_window_mb: sizes.find((s) => s.day === WINDOWS.deliveriesDays + 1)?.mb ?? null,
    };
  } finally {
    await store.close();
    await db.drop();
  }
}

measureEachStore(soak);
