import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { reach } from '../emulator/harness.js';
import { WhatsAppEmulator, type EmulatedConnection } from '../emulator/server.js';
import { client, until } from '../support/http.js';
import type { GatewayProcess } from '../support/process.js';
import { ADMIN, authUnderLease, clusterDatabase, leases, startNode, TTL_MS, type ClusterDb } from './cluster.js';

// The real Baileys client against the WhatsApp Web emulator, on two nodes: the node running a
// paired channel is killed, and the other one logs the device in again from the stored
// credentials, with no new QR, and never while the dead node's session was still open.

const TRUST_ROOT = resolve(import.meta.dirname, '../emulator/trust-root.mjs');
const pgServer = await postgresForTests();

describe.runIf(pgServer)('a baileys channel whose node is killed', () => {
  let db: ClusterDb | null = null;
  let emulator: WhatsAppEmulator | null = null;
  const nodes = new Map<string, GatewayProcess>();

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((gw) => gw.kill('SIGKILL')));
    await emulator?.close();
    await db?.drop();
  });

  it('logs in again from another node without a new QR, and the device never has two sessions at once', async () => {
    db = await clusterDatabase(pgServer!.url);
    emulator = await WhatsAppEmulator.start();
    const closedAt = new Map<EmulatedConnection, number>();
    emulator.on('closed', (conn: EmulatedConnection) => closedAt.set(conn, Date.now()));
    const env = {
      WAGATE_BAILEYS_WS_URL: emulator.url,
      WAGATE_TEST_WA_ROOT_KEY: Buffer.from(emulator.authority.root.public).toString('hex'),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${TRUST_ROOT}`.trim(),
    };
    nodes.set('b1', await startNode('b1', db.url, env));
    nodes.set('b2', await startNode('b2', db.url, env));
    const created = await client(nodes.get('b1')!.url, ADMIN)<{ id: string; token: string }>('PUT', '/partner/channels', {
      name: 'emulated',
      engine: 'baileys',
      baileys: { sync_timeout_ms: 3_600_000 },
    });
    expect(created.status).toBe(200);
    const { id, token } = created.body;
    let owner = '';
    await until(async () => (owner = (await leases(db!)).get(id)?.node ?? '') !== '', 'a lease', 20_000);
    const gate = client(nodes.get(owner)!.url, token);
    await reach(gate, 'QR', 30_000);
    emulator.scan((await gate<{ rowdata: string }>('GET', '/users/login')).body.rowdata);
    await until(async () => (await authUnderLease(db!)).has(id), 'AUTH', 30_000, 100);
    const before = (await leases(db!)).get(id)!;
    const connectionsBefore = emulator.connections.length;

    await nodes.get(owner)!.kill('SIGKILL');
    nodes.delete(owner);
    const killedAt = Date.now();
    const survivor = [...nodes.keys()][0]!;
    await until(async () => (await authUnderLease(db!, [owner])).has(id), 'AUTH on the other node', TTL_MS + 30_000, 100);
    const after = (await leases(db!)).get(id)!;
    expect(after).toMatchObject({ node: survivor });
    expect(after.epoch).toBeGreaterThan(before.epoch);
    const path = await db!.sql<{ to_status: string }>('SELECT to_status FROM status_history WHERE channel_id = $1 AND epoch = $2 AND from_status <> to_status ORDER BY id', [id, after.epoch]);
    expect(path.map((r) => r.to_status)).toEqual(['INIT', 'LAUNCH', 'AUTH']);
    // Every connection after the kill logged in as the paired device: none asked for a QR.
    const later = emulator.connections.slice(connectionsBefore);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((c) => c.username === emulator!.phone.number && c.refs.size === 0)).toBe(true);
    // The device's sessions never overlapped: each opened after the one before had closed.
    const sessions = emulator.connections.filter((c) => c.username !== null).map((c) => ({ from: c.openedAt, to: closedAt.get(c) ?? Number.POSITIVE_INFINITY }));
    sessions.sort((a, b) => a.from - b.from);
    for (let i = 1; i < sessions.length; i++) expect(sessions[i]!.from).toBeGreaterThanOrEqual(sessions[i - 1]!.to);
    expect((await client(nodes.get(survivor)!.url, token)<{ user: { id: string } }>('GET', '/health')).body.user.id).toBe(emulator.phone.number);
    expect(emulator.errors).toEqual([]);
    console.info(`baileys failover: AUTH on ${survivor} ${Date.now() - killedAt} ms after the kill, ${later.length} connection(s), no QR`);
  }, 180_000);
});
