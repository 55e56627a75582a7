/**
 * `npm run bench:boot`: a restart with 10,000 sandbox channels in AUTH and 100,000 pending
 * deliveries (bulk-filled in SQL), on SQLite and on PostgreSQL. Prints the boot's phases (store
 * opened and migrated, channels loaded, listening, channels resumed, ready, /readyz answering 200,
 * every channel back in AUTH) in ms from the start, and how fast the backlog then drains to a
 * loopback receiver, with the heap's peak meanwhile (the backlog must flow, not be loaded).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startGateway, type BootPhase } from '../src/gateway.js';
import { targetOf } from '../src/webhooks/outbox.js';
import { applyPatch, defaultSettings, validateSettingsPatch } from '../src/webhooks/settings.js';
import { fillBacklog, fillChannels } from './fill.js';
import { profiling } from './profile.js';
import { startBenchReceiver } from './receiver.js';
import { benchStore, measureEachStore } from './stores.js';

const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 10_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
/** How long the drain is watched after every channel is back in AUTH (s). */
const DRAIN_S = Number(process.env.BENCH_DRAIN_S ?? 30);
const ADMIN = 'bench-admin-token-0123456789';
async function measure(kind: string): Promise<Record<string, unknown>> {
  const hook = await startBenchReceiver();
  const db = await benchStore(kind, 'wagate-bench-boot-');
  const env = { WAGATE_PORT: '0', WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'error', ...db.env };
  try {
    await (await db.open()).close();
    const checked = validateSettingsPatch({ webhooks: [{ url: hook.url, events: [{ type: 'channel', method: 'post' }] }] });
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    const settings = applyPatch(defaultSettings(), checked.patch).after_update;
    const target = targetOf(settings.webhooks[0]!, settings);
    const now = Date.now();
    const ids = Array.from({ length: CHANNELS }, (_, i) => `BOOT-${String(i).padStart(5, '0')}`);
    const filling = performance.now();
    await fillChannels(db.to, ids.map((id, i) => ({ id, token: `bench-boot-token-${i}-0123456789`, createdAt: now - CHANNELS + i, status: 'AUTH', settings })), { init_ms: 0, launch_ms: 0 });
    await fillBacklog(db.to, ids, BACKLOG, target, now);
    const fillS = (performance.now() - filling) / 1000;

    // The restart, timed from here.
    const phases: Partial<Record<BootPhase | 'readyz_200' | 'all_restarted' | 'all_auth', number>> = {};
    const stopProfile = await profiling(kind); // BENCH_CPU_PROFILE: the restart, to all AUTH
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const bootWall = Date.now();
    const at = (): number => Math.round(performance.now() - t0);
    // CPU time of this process by phase: on a shared machine the wall clock also counts others' work.
    const cpu0 = process.cpuUsage();
    const cpuPhases: typeof phases = {};
    const cpuAt = (): number => {
      const { user, system } = process.cpuUsage(cpu0);
      return Math.round((user + system) / 1000);
    };
    const mark = (p: keyof typeof phases): void => {
      phases[p] = at();
      cpuPhases[p] = cpuAt();
    };
    const gateway = await startGateway(loadConfig(env), { pgSchema: db.pgSchema, onPhase: mark });
    let peakHeapMb = 0;
    const sampler = setInterval(() => (peakHeapMb = Math.max(peakHeapMb, process.memoryUsage().heapUsed / 1_048_576)), 100);
    try {
      for (;;) {
        const res = await request(`${gateway.url}/readyz`);
        await res.body.dump();
        if (res.statusCode === 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      mark('readyz_200');
      // A channel counts once this run restarted it (a status since the restart, on a node under
      // its lease here): a loaded record still says AUTH before anything was resumed. Only the
      // channels not counted yet are looked at, every 50 ms: the watch must not cost the boot.
      const notRestarted = new Set(ids);
      const notAuth = new Set(ids);
      const sweep = (): void => {
        for (const id of notRestarted) {
          const c = gateway.channels.find(id);
          if (c && c.state.statusSince >= bootWall && gateway.channels.runsHere(id)) notRestarted.delete(id);
        }
        for (const id of notAuth) if (!notRestarted.has(id) && gateway.channels.find(id)?.state.status === 'AUTH') notAuth.delete(id);
      };
      for (sweep(); notAuth.size > 0; sweep()) {
        if (phases.all_restarted === undefined && notRestarted.size === 0) mark('all_restarted');
        if (at() > 300_000) throw new Error(`only ${CHANNELS - notAuth.size} of ${CHANNELS} channels back in AUTH after 300 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (phases.all_restarted === undefined) mark('all_restarted');
      mark('all_auth');
      loop.disable();
      await stopProfile();
      // The drain: the backlog and the 3 status changes of every channel's restart.
      const owed = BACKLOG + 3 * CHANNELS;
      const fromReceived = hook.count();
      const drainStart = performance.now();
      while (hook.count() < owed && performance.now() - drainStart < DRAIN_S * 1000) await new Promise((r) => setTimeout(r, 100));
      const drainS = (performance.now() - drainStart) / 1000;
      const depth = await gateway.store.outboxDepth();
      return {
        store: kind,
        channels: CHANNELS,
        backlog: BACKLOG,
        fill_s: +fillS.toFixed(1),
        phases_ms: phases,
        cpu_ms: cpuPhases,
        received_before_all_auth: fromReceived,
        drain: {
          watched_s: +drainS.toFixed(1),
          delivered: hook.count() - fromReceived,
          per_s: Math.round((hook.count() - fromReceived) / drainS),
          pending_left: depth.pending,
        },
        peak_heap_mb: +peakHeapMb.toFixed(1),
        // The longest the event loop was held at once from the restart to all AUTH (requests wait that long).
        max_loop_block_ms: Math.round(loop.max / 1e6),
      };
    } finally {
      clearInterval(sampler);
      await gateway.close();
    }
  } finally {
    await hook.close();
    await db.drop();
  }
}

measureEachStore(measure);
