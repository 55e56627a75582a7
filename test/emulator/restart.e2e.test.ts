import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseKinds, type TestDatabase } from '../support/databases.js';
import { client } from '../support/http.js';
import { startGatewayProcess, type GatewayProcess } from '../support/process.js';
import { reach } from './harness.js';
import { WhatsAppEmulator } from './server.js';

const ADMIN = 'emulator-admin-token-0123456789';
const TRUST_ROOT = resolve(import.meta.dirname, 'trust-root.mjs');
const kinds = await databaseKinds();

/** The env of a gateway process whose Baileys trusts the emulator and connects to it. */
function gatewayEnv(emulator: WhatsAppEmulator, db: TestDatabase): Record<string, string> {
  return {
    ...db.env,
    WAGATE_ADMIN_TOKEN: ADMIN,
    WAGATE_BAILEYS_WS_URL: emulator.url,
    WAGATE_TEST_WA_ROOT_KEY: Buffer.from(emulator.authority.root.public).toString('hex'),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${TRUST_ROOT}`.trim(),
  };
}

describe.each(kinds)('a baileys channel across a SIGKILL on %s', (_kind, makeDb) => {
  if (!makeDb) {
    it.skip('needs PostgreSQL (skipped: no server answered)', () => undefined);
    return;
  }
  let db: TestDatabase | null = null;
  let gw: GatewayProcess | null = null;
  let emulator: WhatsAppEmulator | null = null;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await emulator?.close();
    await db?.drop();
  });

  it('logs in again with the stored credentials: AUTH without a QR', async () => {
    db = await makeDb();
    emulator = await WhatsAppEmulator.start();
    const env = gatewayEnv(emulator, db);
    gw = await startGatewayProcess(env);
    const created = await client(gw.url, ADMIN)<{ token: string }>('PUT', '/partner/channels', {
      name: 'emulated',
      engine: 'baileys',
      baileys: { sync_timeout_ms: 3_600_000 },
    });
    expect(created.status).toBe(200);
    let gate = client(gw.url, created.body.token);
    await reach(gate, 'QR', 20_000);
    const qr = await gate<{ rowdata: string }>('GET', '/users/login');
    emulator.scan(qr.body.rowdata);
    await reach(gate, 'AUTH');
    const beforeKill = emulator.connections.length;

    expect(await gw.kill('SIGKILL')).toBeNull();
    gw = await startGatewayProcess(env);
    gate = client(gw.url, created.body.token);
    await reach(gate, 'AUTH', 20_000);
    const { body } = await gate<{ history: Array<{ from: string; to: string }> }>('GET', '/health/history?count=100');
    const path = [...body.history].reverse().filter((r) => r.from !== r.to).map((r) => r.to);
    // Pairing (QR, the 515 restart, AUTH), then after the kill straight to AUTH.
    expect(path).toEqual(['INIT', 'LAUNCH', 'QR', 'INIT', 'LAUNCH', 'AUTH', 'INIT', 'LAUNCH', 'AUTH']);
    // Every connection after the kill logged in; none asked for pairing refs.
    const after = emulator.connections.slice(beforeKill);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((c) => c.username === emulator!.phone.number)).toBe(true);
    expect((await gate<{ user: { id: string } }>('GET', '/health')).body.user.id).toBe(emulator.phone.number);
    expect(emulator.errors).toEqual([]);
  }, 90_000);
});
