import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/channel/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSocks5, type Socks5Proxy } from '../support/socks5.js';

// SPEC §11 on a real gateway: a flapping sandbox channel, remediation in act and in alert mode.
// Lifecycle, sandbox and remediation timers run on a virtual clock; HTTP and webhooks are real.

const FAST = { init_ms: 20, launch_ms: 20 };
const ALERTS_AND_STATUS = [
  { type: 'alerts', method: 'post' },
  { type: 'channel', method: 'post' },
];

interface Setup {
  clock: VirtualClock;
  gw: TestGateway;
  receiver: Receiver;
  gate: Call;
  id: string;
}

let open: Setup | null = null;
afterEach(async () => {
  await open?.receiver.close();
  await open?.gw.close();
  open = null;
});

/** A paired sandbox channel whose alerts and statuses go to a receiver. */
async function pairedChannel(remediation: Record<string, unknown>, before?: (gw: TestGateway) => Promise<void>, settings: Record<string, unknown> = {}): Promise<Setup> {
  const clock = new VirtualClock(Math.floor(Date.now() / 1000) * 1000);
  const gw = await startTestGateway({ clock, random: () => 0, env: { WAGATE_LOG_LEVEL: 'silent' } });
  const receiver = await startReceiver();
  open = { clock, gw, receiver, gate: null as never, id: '' };
  await before?.(gw);
  const { gate, id } = await gw.createChannel({
    sandbox: FAST,
    settings: { ...settings, remediation, webhooks: [{ url: `${receiver.url}/hook`, events: ALERTS_AND_STATUS }] },
  });
  Object.assign(open, { gate, id });
  await clock.advance(100);
  expect((await gate('POST', '/sandbox/scan', {})).status).toBe(200);
  await until(async () => (await status(gate)) === 'AUTH', 'AUTH');
  return open;
}

async function status(gate: Call): Promise<string> {
  return (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;
}

/** Alerts the receiver got, as `kind` or `kind:action`. */
function alerts(r: Receiver): Array<Record<string, unknown>> {
  return r.received.flatMap((x) => (x.json.alert ? [x.json.alert as Record<string, unknown>] : []));
}

function alertLabels(r: Receiver): string[] {
  return alerts(r).map((a) => (a.action ? `${String(a.kind)}:${String(a.action)}` : String(a.kind)));
}

/** Six blips 5 s apart, played out in virtual time. */
async function flapSix(s: Setup): Promise<void> {
  expect((await s.gate('POST', '/sandbox/flap', { times: 6, interval_ms: 5_000, duration_ms: 100 })).status).toBe(200);
  for (let i = 0; i < 40; i++) await s.clock.advance(1_000);
}

async function history(gate: Call): Promise<Array<{ from: string; to: string; reason: string; detail?: string }>> {
  const { body } = await gate<{ history: Array<{ from: string; to: string; reason: string; detail?: string }> }>('GET', '/health/history?count=200');
  return [...body.history].reverse();
}

describe('remediation of a flapping sandbox channel', () => {
  it('act: restarts it once, then raises needs_attention at the cap, naming the restart', async () => {
    const s = await pairedChannel({ mode: 'act', max_actions_per_hour: 1 });
    await flapSix(s);
    await until(() => alertLabels(s.receiver).includes('needs_attention:none'), 'needs_attention');
    expect(alertLabels(s.receiver)).toEqual(['flapping', 'remediation:restart', 'needs_attention:none']);
    const handover = alerts(s.receiver).at(-1)!;
    expect(handover.detail).toContain('the cap of 1 actions per hour is reached');
    expect(handover.tried).toEqual([expect.stringContaining('restart (flapping: 3 drops')]);

    const h = await history(s.gate);
    const story = h.filter((e) => ['flapping', 'remediation', 'needs_attention'].includes(e.reason)).map((e) => `${e.to}:${e.reason}`);
    expect(story).toEqual(['AUTH:flapping', 'INIT:remediation', 'INIT:remediation', 'INIT:needs_attention']);
    expect(h.filter((e) => e.reason === 'remediation' && e.detail === undefined)).toHaveLength(1);
    const metrics = (await s.gw.partner<string>('GET', '/metrics')).body;
    expect(metrics).toContain('wagate_remediation_actions_total{action="restart",outcome="taken"} 1');
    expect(metrics).toContain('wagate_remediation_actions_total{action="none",outcome="handed_over"} 1');
    // The fresh run still reconnects by itself after each blip: the channel ends AUTH.
    await until(async () => (await status(s.gate)) === 'AUTH', 'AUTH at the end');
  });

  it('alert: does nothing and the alerts still come', async () => {
    const s = await pairedChannel({ mode: 'alert' });
    await flapSix(s);
    await until(() => alertLabels(s.receiver).length >= 3, 'three alerts');
    expect(alertLabels(s.receiver)).toEqual(['flapping', 'remediation:restart', 'needs_attention:none']);
    expect(alerts(s.receiver)[1]).toMatchObject({ taken: false, detail: expect.stringMatching(/^would restart \(mode alert\)/) });
    expect(alerts(s.receiver)[2]!.tried).toEqual([expect.stringContaining('restart, announced only (mode alert)')]);
    const h = await history(s.gate);
    expect(h.some((e) => e.reason === 'remediation' || e.reason === 'needs_attention')).toBe(false);
    expect(h.filter((e) => e.reason === 'operator_restart' || e.reason === 'remediation')).toEqual([]);
  });

  it('act on a pool proxy: restarts it, then moves it to a healthy proxy of the same region when it flaps again', async () => {
    const proxies: Socks5Proxy[] = [];
    try {
      const s = await pairedChannel(
        { mode: 'act' },
        async (gw) => {
          // eu-1 is the oldest: the channel starts there. us-1 is older than eu-2, so only the region sends the move to eu-2.
          for (const [label, region] of [['eu-1', 'eu'], ['us-1', 'us'], ['eu-2', 'eu']] as const) {
            const p = await startSocks5();
            proxies.push(p);
            expect((await gw.partner('PUT', '/partner/proxies', { url: p.url, label, region })).status).toBe(200);
          }
        },
        { proxy: 'auto' },
      );
      const on = async () => (await s.gw.partner<{ proxies: Array<{ label: string; channels: string[] }> }>('GET', '/partner/proxies')).body.proxies.filter((p) => p.channels.includes(s.id)).map((p) => p.label);
      expect(await on()).toEqual(['eu-1']);
      await flapSix(s);
      await until(() => alertLabels(s.receiver).includes('remediation:move_proxy'), 'the move');
      // Six drops in the hour make eu-1 bad: it is quarantined as the channel leaves it.
      expect(alertLabels(s.receiver).slice(0, 4)).toEqual(['flapping', 'remediation:restart', 'remediation:quarantine_proxy', 'remediation:move_proxy']);
      expect(alerts(s.receiver)[3]).toMatchObject({ detail: expect.stringContaining('from proxy eu-1 to eu-2') });
      expect(await on()).toEqual(['eu-2']);
      const pool = (await s.gw.partner<{ proxies: Array<{ label: string; state: string }> }>('GET', '/partner/proxies')).body.proxies;
      expect(pool.map((p) => `${p.label}:${p.state}`)).toEqual(['eu-1:quarantined', 'us-1:active', 'eu-2:active']);
      // The history tells the same story, in order (the restarts themselves are the entries without a detail).
      const notes = (await history(s.gate)).filter((e) => e.reason === 'remediation' && e.detail).map((e) => e.detail!.split(':')[0]);
      expect(notes).toEqual(['restart', 'quarantine_proxy', 'move_proxy']);
      expect((await s.gw.partner<string>('GET', '/metrics')).body).toContain('wagate_remediation_actions_total{action="move_proxy",outcome="taken"} 1');
      await until(async () => (await status(s.gate)) === 'AUTH', 'AUTH on the new proxy');
    } finally {
      for (const p of proxies) await p.close();
    }
  });
});
