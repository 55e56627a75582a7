import { afterEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSocks5, type Socks5Proxy } from '../support/socks5.js';
import { reach, scanQr, startGatewayOn, startTrustedEmulator, statusText } from './harness.js';
import type { WhatsAppEmulator } from './server.js';

// SPEC §11 with real parts: the real Baileys client reaches the WhatsApp Web emulator through
// real SOCKS5 proxies on loopback; one of them cuts every tunnel a moment after it opens.
// Small thresholds keep it short: 2 drops within a minute are flapping, backoff 500 ms.

const DROP_AFTER_MS = 1_200;
const EVENTS = [
  { type: 'alerts', method: 'post' },
  { type: 'channel', method: 'post' },
];

interface Setup {
  emulator: WhatsAppEmulator;
  receiver: Receiver;
  gw: TestGateway;
  socks: Socks5Proxy[];
  gate: Call;
  id: string;
}

let setup: Setup | null = null;
afterEach(async () => {
  if (!setup) return;
  await setup.receiver.close();
  await setup.gw.close();
  for (const p of setup.socks) await p.close();
  await setup.emulator.close();
  setup = null;
});

interface ProxyRow {
  id: string;
  label: string;
  state: string;
  channels: string[];
}

/** Two pool proxies (the first listed is picked first), and a baileys channel on "auto" paired through the first. */
async function pairedOnPool(maxActions: number): Promise<Setup & { proxies: ProxyRow[] }> {
  const emulator = await startTrustedEmulator();
  const receiver = await startReceiver();
  const gw = await startGatewayOn(emulator, { random: () => 0, env: { WAGATE_FLAP_DROPS: '2', WAGATE_FLAP_WINDOW_MS: '60000' } });
  const socks = [await startSocks5(), await startSocks5()];
  setup = { emulator, receiver, gw, socks, gate: null as never, id: '' };
  const proxies: ProxyRow[] = [];
  for (const [i, p] of socks.entries()) proxies.push((await gw.partner<ProxyRow>('PUT', '/partner/proxies', { url: p.url, label: i === 0 ? 'first' : 'second' })).body);
  const { gate, id } = await gw.createChannel({
    engine: 'baileys',
    baileys: { sync_timeout_ms: 3_600_000 },
    settings: { proxy: 'auto', remediation: { mode: 'act', max_actions_per_hour: maxActions }, webhooks: [{ url: `${receiver.url}/hook`, events: EVENTS }] },
  });
  Object.assign(setup, { gate, id });
  await scanQr({ gate, emulator });
  await reach(gate, 'AUTH');
  expect(socks[0]!.tunnels).toBeGreaterThan(0);
  expect(socks[1]!.tunnels).toBe(0);
  return { ...setup, proxies };
}

function alerts(r: Receiver): Array<Record<string, unknown>> {
  return r.received.flatMap((x) => (x.json.alert ? [x.json.alert as Record<string, unknown>] : []));
}

function story(r: Receiver): string[] {
  return alerts(r).map((a) => (a.action ? `${String(a.kind)}:${String(a.action)}` : String(a.kind)));
}

async function pool(gw: TestGateway): Promise<ProxyRow[]> {
  return (await gw.partner<{ proxies: ProxyRow[] }>('GET', '/partner/proxies')).body.proxies;
}

async function notes(gate: Call): Promise<string[]> {
  const { body } = await gate<{ history: Array<{ to: string; reason: string }> }>('GET', '/health/history?count=200');
  return [...body.history]
    .reverse()
    .filter((h) => ['flapping', 'remediation', 'needs_attention'].includes(h.reason))
    .map((h) => `${h.to}:${h.reason}`);
}

describe('remediation through real SOCKS5 proxies in front of the emulator', { timeout: 90_000 }, () => {
  it('restarts a channel flapping on an unstable proxy, then moves it to the stable one and quarantines the bad one', async () => {
    const s = await pairedOnPool(3);
    const [bad, good] = s.socks as [Socks5Proxy, Socks5Proxy];
    bad.setDropAfter(DROP_AFTER_MS);
    bad.dropAll();

    await until(() => story(s.receiver).includes('remediation:move_proxy'), 'the move', 60_000, 100);
    expect(story(s.receiver)).toEqual(['flapping', 'remediation:restart', 'remediation:quarantine_proxy', 'remediation:move_proxy']);
    const move = alerts(s.receiver).at(-1)!;
    expect(move.detail).toContain('from proxy first to second');
    await reach(s.gate, 'AUTH', 20_000);

    const listed = await pool(s.gw);
    expect(listed.find((p) => p.label === 'first')).toMatchObject({ state: 'quarantined', channels: [] });
    expect(listed.find((p) => p.label === 'second')).toMatchObject({ state: 'active', channels: [s.id] });
    expect(good.tunnels).toBeGreaterThan(0);

    // The stable proxy holds: well past the bad proxy's cut-off, still AUTH on one tunnel.
    const tunnels = good.tunnels;
    const connections = s.emulator.connections.length;
    await new Promise((r) => setTimeout(r, DROP_AFTER_MS * 3));
    expect(await statusText(s.gate)).toBe('AUTH');
    expect(good.tunnels).toBe(tunnels);
    expect(s.emulator.connections.length).toBe(connections);

    // The history tells it in order: flapping, the restart's note and the fresh run, then the
    // quarantine's and the move's notes and the run on the new proxy (the lifecycle's flapping
    // flag stays up while the drops are in its window, so it notes flapping once).
    expect(await notes(s.gate)).toEqual(['AUTH:flapping', 'INIT:remediation', 'INIT:remediation', 'INIT:remediation', 'INIT:remediation', 'INIT:remediation']);
    const details = await remediationDetails(s.gate);
    expect(details.map((d) => d.split(':')[0])).toEqual(['restart', 'quarantine_proxy', 'move_proxy']);
  });

  it('with every proxy bad, reaches the cap and hands over naming what was tried', async () => {
    const s = await pairedOnPool(2);
    for (const p of s.socks) p.setDropAfter(DROP_AFTER_MS);
    s.socks[0]!.dropAll();

    await until(() => story(s.receiver).includes('needs_attention:none'), 'needs_attention', 60_000, 100);
    expect(story(s.receiver)).toEqual(['flapping', 'remediation:restart', 'remediation:quarantine_proxy', 'remediation:move_proxy', 'needs_attention:none']);
    const handover = alerts(s.receiver).at(-1)!;
    expect(handover.detail).toContain('the cap of 2 actions per hour is reached');
    expect(handover.tried).toEqual([
      expect.stringContaining('restart (flapping'),
      expect.stringContaining('quarantine_proxy (flapping: proxy first'),
      expect.stringContaining('move_proxy (flapping'),
    ]);
  });
});

/** The remediation notes' details, oldest first (the restarts' own records have none). */
async function remediationDetails(gate: Call): Promise<string[]> {
  const { body } = await gate<{ history: Array<{ reason: string; detail?: string }> }>('GET', '/health/history?count=200');
  return [...body.history].reverse().flatMap((h) => (h.reason === 'remediation' && h.detail ? [h.detail] : []));
}
