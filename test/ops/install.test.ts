import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'wagate-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a newcomer installing and packing', { timeout: 120_000 }, () => {
  it(`npm ci on this Node (${process.version}) warns of no unsupported engine`, async () => {
    // The lockfile as committed, resolved offline without touching node_modules: npm prints
    // EBADENGINE for every locked package whose "engines" this Node does not satisfy.
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(work, file));
    const { stdout, stderr } = await run('npm', ['ci', '--dry-run', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: work });
    expect(`${stdout}${stderr}`).not.toContain('EBADENGINE');
    const { stdout: tree } = await run('npm', ['ls', 'cookie', '--json'], { cwd: ROOT });
    const cookie = (JSON.parse(tree) as { dependencies: Record<string, { dependencies: Record<string, { dependencies: Record<string, { version: string }> }> }> }).dependencies.fastify?.dependencies['light-my-request']?.dependencies.cookie;
    expect(cookie?.version).toMatch(/^1\./);
  });

  it('npm run pack:client packs @wagate/client: its dist and README, no sources or tests', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'pack:client', '--', '--dry-run', '--json'], { cwd: ROOT });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; version: string; size: number; files: Array<{ path: string }> }>;
    expect(info?.name).toBe('@wagate/client');
    // The root package packed by mistake weighed 1.1 MB; the client is a few dozen kB.
    expect(info?.size).toBeLessThan(150_000);
    const paths = info?.files.map((f) => f.path) ?? [];
    expect(paths).toContain('README.md');
    expect(paths.filter((p) => !p.startsWith('dist/') && p !== 'README.md' && p !== 'package.json')).toEqual([]);
    expect(paths.filter((p) => /(^|\/)test\/|\.test\.|^src\//.test(p))).toEqual([]);
  });
});
