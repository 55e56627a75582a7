import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import { label, pair, scanQr, startEmulatedGateway, type EmulatedSetup } from './harness.js';
import type { DropKind } from './server.js';

let setup: EmulatedSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});

interface Paired extends EmulatedSetup {
  /** Channel statuses and user events the receiver saw since pairing (channel.patch left out). */
  since(): string[];
  /** Drops the logged-in connection; answers how long until the client connected again (ms), or null. */
  dropAndReconnect(kind: DropKind, waitMs?: number): Promise<number | null>;
}

/** A channel paired through the emulator and in AUTH. */
async function pairedChannel(): Promise<Paired> {
  setup = await startEmulatedGateway();
  const s = setup;
  await pair(s);
  const mark = s.receiver.received.length;
  return {
    ...s,
    since: () => s.receiver.received.slice(mark).map(label).filter((l) => l !== 'channel.patch'),
    dropAndReconnect: async (kind, waitMs = 5_000) => {
      const before = s.emulator.connections.length;
      const at = s.emulator.drop(kind);
      try {
        await until(() => s.emulator.connections.length > before, 'a new connection', waitMs);
      } catch {
        return null;
      }
      return s.emulator.connections[before]!.openedAt - at;
    },
  };
}

/** The reasons of the channel's status history since pairing (newest last). */
async function reasons(s: EmulatedSetup): Promise<string[]> {
  const { body } = await s.gate<{ history: Array<{ to: string; reason: string }> }>('GET', '/health/history?count=50');
  return [...body.history].reverse().map((r) => `${r.to}:${r.reason}`);
}

describe('drops of a logged-in Baileys connection, made by the emulator', () => {
  it.each<[DropKind]>([['close'], ['xmlstreamend']])('a %s (428) is a blip back to AUTH after the backoff', async (kind) => {
    const s = await pairedChannel();
    const reconnectMs = await s.dropAndReconnect(kind);
    expect(reconnectMs).toBeGreaterThanOrEqual(400);
    await until(() => s.since().includes('AUTH'), 'AUTH again');
    expect(s.since()).toEqual(['INIT', 'LAUNCH', 'AUTH']);
    expect(s.emulator.errors).toEqual([]);
  });

  it('a stream:error 515 reconnects at once and returns to AUTH', async () => {
    const s = await pairedChannel();
    const reconnectMs = await s.dropAndReconnect('restart');
    expect(reconnectMs).not.toBeNull();
    expect(reconnectMs).toBeLessThan(400);
    await until(() => s.since().includes('AUTH'), 'AUTH again');
    expect(s.since()).toEqual(['INIT', 'LAUNCH', 'AUTH']);
  });

  it('a conflict (440, replaced) is ERROR without reconnecting', async () => {
    const s = await pairedChannel();
    expect(await s.dropAndReconnect('replaced', 1_500)).toBeNull();
    await until(() => s.since().includes('ERROR'), 'ERROR');
    expect(s.since()).toEqual(['ERROR']);
    // Remediation never retries it: it hands the channel over with a note.
    expect((await reasons(s)).slice(-2)).toEqual([expect.stringMatching(/^ERROR:.*replaced/), 'ERROR:needs_attention']);
  });

  it('a failure 401 (the phone removed the device) sends users.delete and starts a new QR round that pairs again', async () => {
    const s = await pairedChannel();
    expect(await s.dropAndReconnect('logout')).not.toBeNull();
    await until(() => s.since().includes('QR'), 'QR again');
    expect(s.since()).toEqual(['users.delete', 'INIT', 'LAUNCH', 'QR']);
    // The wiped client registers afresh; the phone links it as a second device.
    expect(s.emulator.connections.at(-1)!.username).toBeNull();
    await scanQr(s);
    await until(() => s.since().includes('users.post'), 'users.post after the second scan');
    expect(s.since().slice(4)).toEqual(['INIT', 'LAUNCH', 'AUTH', 'users.post']);
    expect([...s.emulator.phone.devices.keys()]).toEqual([2]);
    expect(s.emulator.errors).toEqual([]);
  });
});
