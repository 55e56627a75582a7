import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import { eventOf, label, reach, scanQr, startEmulatedGateway, type EmulatedSetup } from './harness.js';

let setup: EmulatedSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});

describe('the real Baileys client against the WhatsApp Web emulator', () => {
  it('pairs by QR, restarts on 515 and reaches AUTH with users.post carrying the phone id', async () => {
    setup = await startEmulatedGateway();
    const { emulator, receiver, gate } = setup;
    const rowdata = await scanQr(setup);
    expect(rowdata).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#emu-ref-/);

    await reach(gate, 'AUTH');
    await until(() => receiver.received.some((r) => eventOf(r) === 'users.post'), 'users.post');
    const usersPost = receiver.received.find((r) => eventOf(r) === 'users.post')!;
    expect((usersPost.json.user as { id: string }).id).toBe(emulator.phone.number);
    // One registration connection (QR, scan, 515), then one login.
    expect(emulator.connections.filter((c) => c.username === null)).toHaveLength(1);
    expect(emulator.connections.filter((c) => c.username === emulator.phone.number)).toHaveLength(1);
    const sequence = receiver.received.map(label).filter((l) => l !== 'channel.patch');
    expect(sequence).toEqual(['INIT', 'LAUNCH', 'QR', 'INIT', 'LAUNCH', 'AUTH', 'users.post']);
    expect(emulator.errors).toEqual([]);
    const health = await gate<{ user: { id: string } }>('GET', '/health');
    expect(health.body.user.id).toBe(emulator.phone.number);
  });
});
