import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'bin/wagate.js');
/** The id the README's lines name; each run substitutes the channel that `channels create` made. */
const README_ID = 'MANTIS-M72HC';

/** The shell lines of the README's CLI section, comments stripped. */
function readmeCliLines(): string[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The CLI'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/** Splits a line as a POSIX shell would for these lines: words, single or double quotes. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}

const env: Record<string, string> = {};
let gw: GatewayProcess;
const lines = readmeCliLines();

beforeAll(async () => {
  for (const l of lines.filter((x) => x.startsWith('export '))) {
    const [k, v] = l.slice('export '.length).split('=');
    env[k as string] = v as string;
  }
  // The README's own admin token, on a gateway whose sandbox channels start fast.
  gw = await startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: env.WAGATE_ADMIN_TOKEN ?? '' });
});
afterAll(async () => {
  await gw?.kill('SIGKILL');
});

describe("the README's CLI lines run as written", { timeout: 300_000 }, () => {
  it('every line is a command wagate accepts, and each succeeds in order', async () => {
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((l) => /[|…]/.test(l))).toEqual([]);
    let id = '';
    for (const line of lines.filter((l) => !l.startsWith('export '))) {
      const argv = words(line);
      expect(argv[0], line).toBe('wagate');
      const args = argv.slice(1).map((a) => (a === README_ID && id ? id : a));
      const childEnv = { ...process.env, ...env, WAGATE_URL: gw.url };
      if (args.includes('--watch') || args[0] === 'events') {
        // A live view: it prints the table, then keeps following until Ctrl-C.
        const child = spawn(process.execPath, [BIN, ...args], { env: childEnv });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        await until(() => err.includes('following'), `${line} to follow the stream`);
        child.kill('SIGINT');
        expect(await exited, line).toBe(0);
        continue;
      }
      const result = await run(process.execPath, [BIN, ...args], { env: childEnv, timeout: 60_000 }).catch((err: { stdout: string; stderr: string; code: number }) => {
        throw new Error(`README line failed: ${line}\n${err.stderr}${err.stdout}`);
      });
      // The webhook test line is there to show a refused receiver's answer: it must say so.
      if (args[0] === 'webhooks' && args[1] === 'test') expect(result.stdout, line).toMatch(/success\s+false/);
      if (args[0] === 'channels' && args[1] === 'create') id = /^id\s+(\S+)$/m.exec(result.stdout)?.[1] ?? '';
      expect(id, `${line} names the channel`).toMatch(/^[A-Z]+-[A-Z0-9]{5}$/);
    }
  });
});
