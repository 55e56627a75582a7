import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { client, until, type Call } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';
import { seeded, startReceiver, type Receiver } from '../support/receiver.js';
import { QUIET, RECIPIENT, sentLog } from '../messages/channel.js';

// The store fails under a running gateway, for real: PostgreSQL backends cancelled and
// terminated while sends, inbound messages, status changes and webhook outcomes are written,
// and SQLite on a small filesystem that fills up. Nothing acknowledged may be lost, nothing sent
// twice, the process must survive, and the status must be true again once the store is back.

const ADMIN = 'store-faults-admin-token-0123456789';
const EVENTS = [
  { type: 'channel', method: 'post' },
  { type: 'messages', method: 'post' },
  { type: 'statuses', method: 'post' },
];

interface Channel {
  id: string;
  gate: Call;
}

/** What the workload saw and made. */
interface Storm {
  /** Message ids answered to sends, per channel. */
  sent: Map<string, string[]>;
  /** Message ids of inbound messages the phone side sent, per channel. */
  inbound: Map<string, string[]>;
  /** HTTP statuses answered to sends and inbound posts, with counts. */
  answers: Map<number, number>;
}

async function createChannels(url: string, receiver: Receiver, n: number): Promise<Channel[]> {
  const out: Channel[] = [];
  for (let i = 0; i < n; i++) {
    const res = await client(url, ADMIN)<{ id: string; token: string }>('PUT', '/partner/channels', {
      name: `faults-${i}`,
      engine: 'sandbox',
      sandbox: { ...QUIET, init_ms: 30, launch_ms: 60 },
      settings: { callback_backoff_delay_ms: 3000, webhooks: [{ url: `${receiver.url}/hook`, events: EVENTS, mode: 'body' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const gate = client(url, res.body.token);
    await until(async () => (await gate<{ status: { text: string } }>('GET', '/health')).body.status.text === 'QR', 'QR');
    expect((await gate('POST', '/sandbox/scan', { user: { id: `6137198995${i}`, name: `Owner ${i}` } })).status).toBe(200);
    await until(async () => (await gate<{ status: { text: string } }>('GET', '/health')).body.status.text === 'AUTH', 'AUTH');
    out.push({ id: res.body.id, gate });
  }
  return out;
}

/**
 * Retries `call` until it answers 200: a store fault answers 503, a send held past a reconnect
 * 401, and the sandbox phone refuses inbound messages (409) while the channel is offline.
 */
async function persist(call: () => Promise<{ status: number; body: unknown }>, answers: Map<number, number>, retryable = [401, 503]): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await call();
    answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
    if (res.status === 200) return res.body;
    expect(retryable, JSON.stringify(res.body)).toContain(res.status);
    last = res.body;
    // A client that honours Retry-After would wait longer; this one is impatient, within reason.
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no 200 within 60 s; last answer ${JSON.stringify(last)}`);
}

/** Idempotent sends, inbound messages and blips on every channel, `concurrency` at a time. */
async function storm(channels: Channel[], opts: { sends: number; inbound: number; blips: number; concurrency: number }): Promise<Storm> {
  const result: Storm = { sent: new Map(), inbound: new Map(), answers: new Map() };
  const jobs: Array<() => Promise<void>> = [];
  for (const ch of channels) {
    result.sent.set(ch.id, []);
    result.inbound.set(ch.id, []);
    for (let i = 0; i < opts.sends; i++) {
      jobs.push(async () => {
        const body = (await persist(
          () => ch.gate('POST', '/messages/text', { to: RECIPIENT, body: `send-${i}` }, { 'idempotency-key': `key-${i}` }),
          result.answers,
        )) as { message: { id: string } };
        result.sent.get(ch.id)!.push(body.message.id);
      });
    }
    for (let i = 0; i < opts.inbound; i++) {
      jobs.push(async () => {
        const body = (await persist(() => ch.gate('POST', '/sandbox/inbound', { from: '61400999000', body: `inbound-${i}` }), result.answers, [409, 503])) as {
          message_id: string;
        };
        result.inbound.get(ch.id)!.push(body.message_id);
      });
    }
    for (let i = 0; i < opts.blips; i++) {
      jobs.push(async () => {
        await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text === 'AUTH', 'AUTH before a blip', 30_000, 50);
        await persist(() => ch.gate('POST', '/sandbox/blip', { duration_ms: 200 }), result.answers, [409, 503]);
      });
    }
  }
  // Interleave the kinds of work (a seeded shuffle) so faults land on each of them.
  const random = seeded(11);
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
  return result;
}

/** Waits until every channel is AUTH and nothing is pending in the outbox. */
async function settle(channels: Channel[]): Promise<void> {
  for (const ch of channels) {
    await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text === 'AUTH', 'AUTH after the faults', 60_000, 100);
  }
  await until(
    async () => {
      for (const ch of channels) {
        const res = await ch.gate<{ total: number }>('GET', '/webhooks/deliveries?status=pending&count=1');
        if (res.status !== 200 || res.body.total > 0) return false;
      }
      return true;
    },
    'the outbox to drain',
    120_000,
    200,
  );
}

/** Every message of the channel as `/messages/list` pages them. */
async function listedIds(gate: Call): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let offset = 0; ; offset += 100) {
    const res = await gate<{ messages: Array<{ id: string }>; total: number }>('GET', `/messages/list?count=100&offset=${offset}`);
    expect(res.status).toBe(200);
    for (const m of res.body.messages) ids.add(m.id);
    if (offset + 100 >= res.body.total) return ids;
  }
}

/** The checks that hold after any fault: nothing lost, nothing sent twice, status history true. */
async function expectNothingLost(gw: GatewayProcess, channels: Channel[], receiver: Receiver, result: Storm, sends: number): Promise<void> {
  expect(gw.child.exitCode, gw.output().slice(-3000)).toBeNull();
  const firstArrival = new Map<string, Record<string, unknown>>();
  for (const r of receiver.received) {
    const id = String(r.headers['webhook-id']);
    if (!firstArrival.has(id)) firstArrival.set(id, r.json);
  }
  const announced = new Set<string>();
  for (const json of firstArrival.values()) {
    for (const m of (json.messages as Array<{ id: string }> | undefined) ?? []) announced.add(m.id);
  }
  for (const ch of channels) {
    // Each Idempotency-Key's message went over the network exactly once.
    const carried = (await sentLog(ch.gate)).map((s) => s.body).sort();
    expect(carried).toEqual(Array.from({ length: sends }, (_, i) => `send-${i}`).sort());
    // Everything sent or received is listed and was announced to the webhook.
    const listed = await listedIds(ch.gate);
    const expected = [...result.sent.get(ch.id)!, ...result.inbound.get(ch.id)!];
    expect(expected.filter((id) => !listed.has(id))).toEqual([]);
    expect(expected.filter((id) => !announced.has(id))).toEqual([]);
    // The statuses the webhook received are exactly the status history.
    const history = await ch.gate<{ history: Array<{ from: string; to: string }> }>('GET', '/health/history?count=500');
    const transitions = [...history.body.history].reverse().filter((h) => h.from !== h.to).map((h) => h.to);
    const seqOf = (id: string): number => Number(id.replace('msg_', ''));
    const statuses = [...firstArrival.entries()]
      .filter(([, j]) => j.channel_id === ch.id && (j.event as { type: string }).type === 'channel')
      .sort((a, b) => seqOf(a[0]) - seqOf(b[0]))
      .map(([, j]) => (j.health as { status: { text: string } }).status.text);
    expect(statuses).toEqual(transitions);
  }
}

const pgServer = await postgresForTests();

describe('PostgreSQL backends cancelled and terminated under load', () => {
  let gw: GatewayProcess | null = null;
  let receiver: Receiver | null = null;
  const dbName = `wagate_faults_${Date.now().toString(36)}`;

  afterAll(async () => {
    if (process.env.DEBUG_FAULTS) (await import('node:fs')).writeFileSync('/tmp/gw-faults.log', gw?.output() ?? '');
    await gw?.kill('SIGKILL');
    await receiver?.close();
    if (!pgServer) return;
    const admin = new pg.Client({ connectionString: pgServer.url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it.runIf(pgServer)('survives, loses no message, sends nothing twice and keeps the history true', async () => {
    const admin = new pg.Client({ connectionString: pgServer!.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(pgServer!.url);
    url.pathname = `/${dbName}`;
    receiver = await startReceiver();
    gw = await startGatewayProcess({ WAGATE_DATABASE_URL: url.toString(), WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_WEBHOOK_TIMEOUT_MS: '2000' });
    const channels = await createChannels(gw.url, receiver, 2);

    // The fault injector: cancel whatever wagate is running every 50 ms, and cut all of its
    // connections every 2 s.
    let injecting = true;
    const injected = { cancelled: 0, terminated: 0 };
    const injector = (async () => {
      let round = 0;
      while (injecting) {
        const fn = ++round % 40 === 0 ? 'pg_terminate_backend' : 'pg_cancel_backend';
        const filter = fn === 'pg_cancel_backend' ? "AND state = 'active'" : '';
        const { rows } = await admin.query<{ hit: boolean }>(`SELECT ${fn}(pid) AS hit FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ${filter}`, [dbName]);
        const hits = rows.filter((r) => r.hit).length;
        if (fn === 'pg_cancel_backend') injected.cancelled += hits;
        else injected.terminated += hits;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const sends = 60;
    const result = await storm(channels, { sends, inbound: 30, blips: 4, concurrency: 20 });
    injecting = false;
    await injector;
    await admin.end();

    await settle(channels);
    await expectNothingLost(gw, channels, receiver, result, sends);
    // The faults were real and some reached the clients as retryable answers.
    expect(injected.cancelled + injected.terminated).toBeGreaterThan(20);
    expect(injected.terminated).toBeGreaterThan(0);
    console.info(`postgres faults: ${JSON.stringify(injected)}, answers ${JSON.stringify([...result.answers])}`);
  }, 240_000);
});

/** Mounts a tmpfs of `mb` MiB, so that the filesystem can really fill; null where mounting is not allowed. */
function smallFilesystem(mb: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'wagate-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir]);
  return dir;
}

/** Writes a file until the filesystem is full; answers its path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // Small writes may still fit in the last partial block: take those too.
  const fd2 = openSync(path, 'a');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd2);
  }
  return path;
}

describe('SQLite on a filesystem that fills up', () => {
  let gw: GatewayProcess | null = null;
  let receiver: Receiver | null = null;
  let mountPoint: string | null = null;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await receiver?.close();
    if (mountPoint) {
      execFileSync('umount', ['-l', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('keeps the status true while writes fail, loses nothing, and recovers without an operator', async () => {
    mountPoint = smallFilesystem(32);
    receiver = await startReceiver();
    gw = await startGatewayProcess({ WAGATE_DATA_DIR: join(mountPoint, 'data'), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_WEBHOOK_TIMEOUT_MS: '2000' });
    const channels = await createChannels(gw.url, receiver, 1);
    const [ch] = channels as [Channel];
    const ops = client(gw.url);

    const filler = fillUp(mountPoint);
    // Writes now fail (once what is left in SQLite's log is used up): readiness says so.
    const inbound: string[] = [];
    const answers = new Map<number, number>();
    let n = 0;
    await until(
      async () => {
        const res = await ch.gate<{ message_id: string }>('POST', '/sandbox/inbound', { from: '61400999000', body: `full-${n++}` });
        if (res.status === 200) inbound.push(res.body.message_id);
        return (await ops('GET', '/readyz')).status === 503;
      },
      '/readyz to answer 503 on a full disk',
      30_000,
      20,
    );
    const ready = await ops<{ error: { message: string } }>('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.message).toBe('store unavailable');
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);

    // A drop while nothing can be written: the channel must not go on saying AUTH.
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 200 })).status).toBe(200);
    await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text !== 'AUTH', 'the status to leave AUTH', 10_000);
    const metrics = await client(gw.url, ADMIN)<string>('GET', '/metrics');
    expect(metrics.body).not.toMatch(/wagate_channels\{status="AUTH"\} 1/);

    // A send now either fails cleanly (nothing went) or is held; none may be lost or doubled.
    const storming = storm(channels, { sends: 10, inbound: 10, blips: 0, concurrency: 5 });
    await new Promise((r) => setTimeout(r, 1500));

    // Space comes back: without an operator the channel is AUTH again and everything lands.
    rmSync(filler);
    await until(async () => (await ops('GET', '/readyz')).status === 200, '/readyz to answer 200 again', 20_000, 100);
    const result = await storming;
    result.inbound.get(ch.id)!.push(...inbound);
    for (const [status, count] of answers) result.answers.set(status, (result.answers.get(status) ?? 0) + count);
    await settle(channels);
    await expectNothingLost(gw, channels, receiver, result, 10);
    const history = await ch.gate<{ history: Array<{ from: string; to: string; reason: string }> }>('GET', '/health/history?count=50');
    expect(history.body.history.some((h) => h.from === 'AUTH' && h.to === 'INIT')).toBe(true);
    const after = await client(gw.url, ADMIN)<string>('GET', '/metrics');
    const refused = Number(/^wagate_store_commit_faults_total (\d+)/m.exec(after.body)?.[1] ?? 0);
    expect(refused).toBeGreaterThan(0);
    console.info(`sqlite full disk: ${refused} commits refused and retried, answers ${JSON.stringify([...result.answers])}`);
  }, 180_000);
});
