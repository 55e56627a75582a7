import { afterAll, describe, expect, it } from 'vitest';
import { databaseKinds, type TestDatabase } from '../support/databases.js';
import { client, until, type Call } from '../support/http.js';
import { startGatewayProcess, type GatewayProcess } from '../support/process.js';

const ADMIN = 'e2e-admin-token-0123456789ab';
const kinds = await databaseKinds();

interface HistoryRow { from: string; to: string; reason: string }

/** Statuses the channel moved through since `since` entries (oldest first). */
async function path(gate: Call): Promise<string[]> {
  const { body } = await gate<{ history: HistoryRow[] }>('GET', '/health/history?count=500');
  const rows = [...body.history].reverse().filter((r) => r.from !== r.to);
  return rows.map((r) => r.to);
}

async function statusOf(gate: Call): Promise<string> {
  const { body } = await gate<{ status: { text: string } }>('GET', '/health?wakeup=false');
  return body.status.text;
}

describe.each(kinds)('a sandbox channel end to end on %s', (kind, makeDb) => {
  if (!makeDb) {
    it.skip(`needs PostgreSQL (skipped: no server answered)`, () => undefined);
    return;
  }
  let db: TestDatabase;
  let gw: GatewayProcess | null = null;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await db?.drop();
  });

  it('pairs, survives SIGKILL without a new QR, unlinks, stops and starts', async () => {
    db = await makeDb();
    const env = { ...db.env, WAGATE_ADMIN_TOKEN: ADMIN };
    gw = await startGatewayProcess(env);
    const partner = client(gw.url, ADMIN);

    const created = await partner<{ id: string; token: string; status: { text: string } }>('PUT', '/partner/channels', {
      name: 'e2e',
      engine: 'sandbox',
    });
    expect(created.status).toBe(200);
    expect(created.body.id).toMatch(/^[A-Z]+-[A-Z0-9]{5}$/);
    let gate = client(gw.url, created.body.token);

    await until(async () => (await statusOf(gate)) === 'QR', 'QR');
    const qr = await gate<{ status: string; rowdata: string; base64: string; expire: number }>('GET', '/users/login');
    expect(qr.body.status).toBe('OK');
    expect(qr.body.base64).toMatch(/^data:image\/png;base64,/);
    expect(qr.body.expire).toBeGreaterThan(0);

    const scan = await gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Jonathan' } });
    expect(scan.status).toBe(200);
    await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after scan');
    expect(await path(gate)).toEqual(['INIT', 'LAUNCH', 'QR', 'AUTH']);

    // SIGKILL: nothing is shut down cleanly; the channel must come back from the store alone.
    expect(await gw.kill('SIGKILL')).toBeNull();
    gw = await startGatewayProcess(env);
    gate = client(gw.url, created.body.token);
    await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after restart');
    const afterBoot = (await path(gate)).slice(4);
    expect(afterBoot).toEqual(['INIT', 'LAUNCH', 'AUTH']);
    const health = await gate<{ user: { id: string } }>('GET', '/health');
    expect(health.body.user.id).toBe('61371989950');

    await gate('POST', '/sandbox/unlink');
    await until(async () => (await statusOf(gate)) === 'QR', 'QR after unlink');
    expect((await path(gate)).slice(7)).toEqual(['INIT', 'LAUNCH', 'QR']);
    expect((await gate('GET', '/health')).body).not.toHaveProperty('user');

    await gate('POST', '/sandbox/scan', { user: { id: '61371989951', name: 'Second' } });
    await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after second scan');

    const partnerAgain = client(gw.url, ADMIN);
    const stopped = await partnerAgain<{ status: { text: string }; stopped: boolean }>('POST', `/partner/channels/${created.body.id}/stop`);
    expect(stopped.body.status.text).toBe('STOP');
    expect(stopped.body.stopped).toBe(true);
    expect(await statusOf(gate)).toBe('STOP');

    await partnerAgain('POST', `/partner/channels/${created.body.id}/start`);
    await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after start');
    expect((await path(gate)).slice(-4)).toEqual(['STOP', 'INIT', 'LAUNCH', 'AUTH']);
    expect(kind).toBe(db.kind);
  }, 60_000);
});
