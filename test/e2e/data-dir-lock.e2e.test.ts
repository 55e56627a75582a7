import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { client, until, type Call } from '../support/http.js';
import { serveUntilExit, startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

const ADMIN = 'lock-admin-token-0123456789';
const TABLES = ['channels', 'status_history', 'events', 'deliveries', 'credentials', 'messages', 'chats', 'idempotency', 'meta'];

/** Every row of every table, read through a read-only connection (the database is not locked). */
function dump(dataDir: string): Record<string, string[]> {
  const db = new Database(join(dataDir, 'wagate.db'), { readonly: true });
  try {
    return Object.fromEntries(TABLES.map((t) => [t, db.prepare(`SELECT * FROM ${t}`).all().map((row) => JSON.stringify(row)).sort()]));
  } finally {
    db.close();
  }
}

/** Everything the first gateway answers about its channel, as raw bytes (uptime aside: it is a clock). */
async function answers(gate: Call): Promise<Record<string, string>> {
  const health = await gate<Record<string, unknown>>('GET', '/health');
  const { uptime, ...rest } = health.body;
  expect(typeof uptime).toBe('number');
  const raw = async (path: string): Promise<string> => JSON.stringify((await gate('GET', path)).body);
  return {
    health: JSON.stringify(rest),
    history: await raw('/health/history?count=500'),
    deliveries: await raw('/webhooks/deliveries?count=500'),
  };
}

describe('one process per SQLite data directory', () => {
  const gateways: GatewayProcess[] = [];
  let receiver: Receiver;
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.kill('SIGKILL')));
    await receiver?.close();
  });

  async function authChannel(gw: GatewayProcess): Promise<Call> {
    const partner = client(gw.url, ADMIN);
    const created = await partner<{ token: string }>('PUT', '/partner/channels', {
      name: 'held',
      engine: 'sandbox',
      sandbox: { init_ms: 20, launch_ms: 20 },
      settings: { webhooks: [{ url: `${receiver.url}/hook`, events: [{ type: 'channel', method: 'post' }], mode: 'body' }] },
    });
    expect(created.status).toBe(200);
    const gate = client(gw.url, created.body.token);
    await until(async () => (await gate<{ status: { text: string } }>('GET', '/health')).body.status.text === 'QR', 'QR');
    expect((await gate('POST', '/sandbox/scan')).status).toBe(200);
    await until(async () => (await gate<{ total: number }>('GET', '/webhooks/deliveries?status=pending&count=1')).body.total === 0, 'the outbox to drain');
    return gate;
  }

  it('refuses a second gateway on the same directory, naming the holder, and changes nothing', async () => {
    receiver = await startReceiver();
    const dataDir = tempDataDir();
    const first = await startGatewayProcess({ WAGATE_DATA_DIR: dataDir, WAGATE_ADMIN_TOKEN: ADMIN });
    gateways.push(first);
    const gate = await authChannel(first);
    const before = { answers: await answers(gate), rows: dump(dataDir), received: receiver.received.length };
    expect(before.rows.events!.length).toBeGreaterThan(0);

    const firstPid = String(first.child.pid);
    // Another port, then the same port: both stop at the lock, before touching anything.
    for (const port of ['0', new URL(first.url).port]) {
      const second = await serveUntilExit({ WAGATE_DATA_DIR: dataDir, WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_PORT: port });
      expect(second.code).not.toBe(0);
      expect(second.code).not.toBeNull();
      expect(second.output).toContain(`in use by another wagate process (pid ${firstPid}`);
      expect(second.output).toContain(`listening on ${first.url}`);
      expect(second.output).not.toContain('gateway_boot');
    }

    // A deliberate wait on the wall clock: a wrongly resumed channel would have written by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(await answers(gate)).toStrictEqual(before.answers);
    expect(dump(dataDir)).toStrictEqual(before.rows);
    expect(receiver.received.length).toBe(before.received);
    const health = await gate<{ uptime: number; status: { text: string } }>('GET', '/health');
    expect(health.body.status.text).toBe('AUTH');

    // The OS releases the lock when the holder dies, however it dies.
    expect(await first.kill('SIGKILL')).toBeNull();
    const next = await startGatewayProcess({ WAGATE_DATA_DIR: dataDir, WAGATE_ADMIN_TOKEN: ADMIN });
    gateways.push(next);
    const listed = await client(next.url, ADMIN)<{ total: number }>('GET', '/partner/channels/list');
    expect(listed.body).toMatchObject({ total: 1 });
  }, 120_000);

  /** A port some other program holds. */
  async function takenPort(): Promise<{ port: string; server: Server }> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: String((server.address() as { port: number }).port), server };
  }

  it('fails on a port clash before resuming any channel', async () => {
    const taken = await takenPort();
    const dataDir = tempDataDir();
    const own = await startGatewayProcess({ WAGATE_DATA_DIR: dataDir, WAGATE_ADMIN_TOKEN: ADMIN });
    gateways.push(own);
    await authChannel(own);
    expect(await own.kill('SIGTERM')).toBe(0);
    const before = dump(dataDir);

    const clash = await serveUntilExit({ WAGATE_DATA_DIR: dataDir, WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_PORT: taken.port });
    taken.server.close();
    expect(clash.code).not.toBe(0);
    expect(clash.output).toContain('EADDRINUSE');
    expect(dump(dataDir)).toStrictEqual(before);
  }, 120_000);

  it('stores no admin token when the first start fails on its port', async () => {
    const taken = await takenPort();
    const dataDir = tempDataDir();
    const clash = await serveUntilExit({ WAGATE_DATA_DIR: dataDir, WAGATE_PORT: taken.port });
    taken.server.close();
    expect(clash.code).not.toBe(0);
    expect(clash.output).not.toContain('Admin token');
    expect(dump(dataDir).meta).toStrictEqual([]);
  }, 60_000);
});
