import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import { startGatewayProcess, tempDataDir } from '../support/process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const leftovers: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(() => {
  // A failed test must not leave a gateway running on the shared machine.
  for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('stopping what a user started', { timeout: 60_000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process of \`npm start\` stops the gateway under it`, async () => {
      // Its own process group, so the signal reaches npm alone, as a service manager's kill does.
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        detached: true,
        env: { ...process.env, WAGATE_PORT: '0', WAGATE_HOST: '127.0.0.1', WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: 'signals-admin-token-0123456789' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
      npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
      await until(() => out.includes('wagate is listening'), 'the gateway to listen', 30_000);
      const gatewayPid = Number(/"pid":(\d+)[^\n]*wagate is listening/.exec(out)?.[1]);
      leftovers.push(gatewayPid);
      expect(gatewayPid).not.toBe(npm.pid);
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1] as string;
      expect((await fetch(`${url}/livez`)).status).toBe(200);

      process.kill(npm.pid as number, signal);
      expect(await exited).toBe(0);
      await until(() => !alive(gatewayPid), `the gateway (pid ${gatewayPid}) to exit`, 15_000);
      expect(out).toContain('"msg":"shutting down"');
      expect(out).toContain('"msg":"stopped"');
      await expect(fetch(`${url}/livez`)).rejects.toThrow();
    });
  }
});

describe('the start-up log names the admin token in effect, never the token', { timeout: 60_000 }, () => {
  it('generated, then stored, then shadowed by WAGATE_ADMIN_TOKEN', async () => {
    const dir = tempDataDir();
    const first = await startGatewayProcess({ WAGATE_DATA_DIR: dir, WAGATE_ADMIN_TOKEN: '' });
    const token = /Admin token \(shown once, keep it\): (\S+)/.exec(first.output())?.[1] as string;
    await until(() => first.output().includes('wagate is listening'), 'the listening line');
    expect(listening(first.output()).admin_token).toMatch(/^generated now \(stored hash sha256:[0-9a-f]{12}…\)$/);
    expect(listening(first.output()).admin_token).not.toContain(token);
    await first.kill('SIGTERM');

    const second = await startGatewayProcess({ WAGATE_DATA_DIR: dir, WAGATE_ADMIN_TOKEN: '' });
    await until(() => second.output().includes('wagate is listening'), 'the listening line');
    const fingerprint = /sha256:[0-9a-f]{12}/.exec(listening(first.output()).admin_token)?.[0] as string;
    expect(listening(second.output()).admin_token).toBe(`generated on an earlier start (stored hash ${fingerprint}…)`);
    expect(second.output()).not.toContain(token);
    expect((await fetch(`${second.url}/partner/channels/list`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await second.kill('SIGTERM');

    const third = await startGatewayProcess({ WAGATE_DATA_DIR: dir, WAGATE_ADMIN_TOKEN: 'from-the-environment-0123456789' });
    await until(() => third.output().includes('wagate is listening'), 'the listening line');
    expect(listening(third.output()).admin_token).toBe('WAGATE_ADMIN_TOKEN (a stored generated token is ignored while it is set)');
    expect(third.output()).not.toContain('from-the-environment');
    expect((await fetch(`${third.url}/partner/channels/list`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await third.kill('SIGTERM');
  });
});

function listening(output: string): { admin_token: string } {
  const line = output.split('\n').find((l) => l.includes('wagate is listening')) as string;
  return JSON.parse(line) as { admin_token: string };
}
