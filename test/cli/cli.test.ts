import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, until } from '../support/http.js';
import { startSocks5 } from '../support/socks5.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/wagate.js');
const ADMIN = 'cli-admin-token-0123456789ab';
let gw: GatewayProcess;

/** Runs the real `wagate` binary against the test gateway. */
async function wagate(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, WAGATE_URL: gw.url, WAGATE_ADMIN_TOKEN: ADMIN }, timeout: 30_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

async function statusOf(id: string): Promise<string> {
  const res = await client(gw.url, ADMIN)<{ status: { text: string } }>('GET', `/partner/channels/${id}`);
  return res.body.status.text;
}

beforeAll(async () => {
  gw = await startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: ADMIN });
});
afterAll(async () => {
  await gw?.kill('SIGKILL');
});

describe('the wagate CLI against a real gateway', { timeout: 120_000 }, () => {
  it('creates a channel, waits for QR with progress, and lists it as a table and as JSON', async () => {
    const created = await wagate('channels', 'create', 'cli-demo', '--engine', 'sandbox', '--sandbox', '{"init_ms":20,"launch_ms":20}', '--wait', 'QR');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/status\s+QR/);
    expect(created.stderr).toContain('is QR');
    const id = /id\s+([A-Z]+-[A-Z0-9]{5})/.exec(created.stdout)?.[1] as string;
    expect(/token\s+\S{20,}/.test(created.stdout)).toBe(true);

    const table = await wagate('channels', 'ls');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+ENGINE\s+STATUS/);
    expect(table.stdout).toContain(id);
    const json = JSON.parse((await wagate('--json', 'channels', 'ls')).stdout) as { channels: Array<{ id: string }>; total: number };
    expect(json.channels.map((c) => c.id)).toContain(id);
    expect(json.total).toBeGreaterThanOrEqual(1);
  });

  it('stops, starts, restarts, rotates the token and deletes', async () => {
    const { stdout } = await wagate('--json', 'channels', 'create', 'cli-ops', '--sandbox', '{"init_ms":20,"launch_ms":20}');
    const { id, token } = JSON.parse(stdout) as { id: string; token: string };

    expect((await wagate('channels', 'stop', id)).stdout).toMatch(/status\s+STOP/);
    expect(await statusOf(id)).toBe('STOP');
    expect((await wagate('channels', 'start', id, '--wait', 'QR')).code).toBe(0);
    expect(await statusOf(id)).toBe('QR');
    expect((await wagate('channels', 'restart', id, '--wait', 'QR')).code).toBe(0);

    const rotated = JSON.parse((await wagate('--json', 'channels', 'token', id)).stdout) as { token: string };
    expect(rotated.token).not.toBe(token);
    expect((await client(gw.url, token)('GET', '/health')).status).toBe(401);
    expect((await client(gw.url, rotated.token)('GET', '/health')).status).toBe(200);

    expect((await wagate('channels', 'rm', id)).code).toBe(0);
    const again = await wagate('channels', 'rm', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('404');
  });

  it('follows status changes with status --watch', async () => {
    const { stdout } = await wagate('--json', 'channels', 'create', 'cli-watch', '--sandbox', '{"init_ms":20,"launch_ms":20}', '--wait', 'QR');
    const { id } = JSON.parse(stdout) as { id: string };
    const watcher = spawn(process.execPath, [BIN, 'status', '--watch'], { env: { ...process.env, WAGATE_URL: gw.url, WAGATE_ADMIN_TOKEN: ADMIN } });
    let out = '';
    let err = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    watcher.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until(() => out.includes(id), 'the first table');
      await until(() => err.includes('following status changes'), 'the stream to be open');
      await client(gw.url, ADMIN)('POST', `/partner/channels/${id}/stop`);
      await until(() => new RegExp(`${id}\\s+STOP`).test(out.split('\n').slice(2).join('\n')), 'a live STOP line');
    } finally {
      watcher.kill('SIGINT');
    }
  });

  it('manages the proxy pool with wagate proxies, and shows a status reason', async () => {
    const socks = await startSocks5();
    try {
      const added = await wagate('--json', 'proxies', 'add', socks.url, '--label', 'cli-px', '--region', 'eu');
      expect(added.code).toBe(0);
      const { id } = JSON.parse(added.stdout) as { id: string };
      const table = await wagate('proxies', 'ls');
      expect(table.stdout).toMatch(new RegExp(`${id}\\s+cli-px\\s+eu\\s+active\\s+unknown`));
      expect((await wagate('proxies', 'quarantine', id, '--reason', 'by hand')).stdout).toMatch(/state\s+quarantined/);
      expect((await wagate('proxies', 'release', id)).stdout).toMatch(/state\s+active/);
      expect(socks.connections).toBe(1);
      expect((await wagate('proxies', 'rm', id)).code).toBe(0);
      expect(JSON.parse((await wagate('--json', 'proxies', 'ls')).stdout)).toMatchObject({ total: 0 });

      const { stdout } = await wagate('--json', 'channels', 'create', 'cli-reason', '--sandbox', '{"init_ms":20,"launch_ms":20}', '--wait', 'QR');
      const status = await wagate('status');
      expect(status.stdout).toMatch(new RegExp(`${(JSON.parse(stdout) as { id: string }).id}.*QR\\s+pairing\\s+pairing round 1`));
    } finally {
      await socks.close();
    }
  });

  it('explains a missing admin token and an unreachable gateway', async () => {
    const noToken = await run(process.execPath, [BIN, 'channels', 'ls'], { env: { ...process.env, WAGATE_URL: gw.url, WAGATE_ADMIN_TOKEN: '' } }).catch((e: { stderr: string; code: number }) => e);
    expect((noToken as { code: number }).code).toBe(1);
    expect((noToken as { stderr: string }).stderr).toContain('WAGATE_ADMIN_TOKEN');
    const down = await run(process.execPath, [BIN, 'channels', 'ls'], { env: { ...process.env, WAGATE_URL: 'http://127.0.0.1:1', WAGATE_ADMIN_TOKEN: ADMIN } }).catch((e: { stderr: string; code: number }) => e);
    expect((down as { stderr: string }).stderr).toContain('cannot reach the gateway');
  });
});
