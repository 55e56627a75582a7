import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'wagate-packages-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Packed {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

async function pack(dir: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: dir });
  const [info] = JSON.parse(stdout) as Packed[];
  if (!info) throw new Error(`npm pack printed no package for ${dir}`);
  return info;
}

async function installOffline(dir: string, tarballs: string[]): Promise<void> {
  await run('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', ...tarballs.map((t) => join(work, t))], { cwd: dir });
}

async function typecheck(dir: string, source: string): Promise<void> {
  writeFileSync(join(dir, 'check.ts'), source);
  const tsconfig = {
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
    files: ['check.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir }).catch((err: { stdout?: string }) => {
    throw new Error(`the consumer does not typecheck against the installed declarations:\n${err.stdout}`);
  });
}

/** The package's directory in a copy of what `npm pack` would take: package.json and README. */
function stage(name: 'protocol' | 'client'): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const file of ['package.json', 'README.md']) copyFileSync(join(ROOT, 'packages', name, file), join(dir, file));
  return dir;
}

// A consumer that knows nothing of this repository: plain Node, the installed packages only.
const consumerJs = `
import { createHmac } from 'node:crypto';
import { parseWebhook, verifyWebhook, WebhookVerificationError, STATUS } from '@wagate/client';
import { STATUS as PROTOCOL_STATUS, channelStatus, errors } from '@wagate/protocol';

const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const body = JSON.stringify({ health: { start_at: 1, uptime: 2, status: channelStatus('AUTH') }, event: { type: 'channel', event: 'post' }, channel_id: 'MANTIS-M72HC' });
const timestamp = Math.floor(Date.now() / 1000);
const mac = createHmac('sha256', Buffer.alloc(32, 7)).update('msg_1.' + timestamp + '.' + body).digest('base64');
const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': 'v1,' + mac };

const verified = verifyWebhook(secret, headers, body);
const event = parseWebhook(body);
let tampered = 'accepted';
try { verifyWebhook(secret, headers, body + ' '); } catch (err) { tampered = err instanceof WebhookVerificationError ? err.reason : String(err); }
console.log(JSON.stringify({ id: verified.id, name: event.name, status: event.health.status, tampered, oneTable: STATUS === PROTOCOL_STATUS, notFound: errors.notFound('x').toBody() }));
`;

// Spelled in two parts: TypeScript honours the directive even inside this file's template literal.
const EXPECT_ERROR = '// @ts-' + 'expect-error';

// The same consumer in TypeScript: the declarations must resolve (not degrade to any: the
// expect-error directives fail the check if they do).
const consumerTs = `
import { parseWebhook, GateClient, type StatusText, type WebhookEvent } from '@wagate/client';
import { channelStatus, type Health, type StatusCode } from '@wagate/protocol';

const event: WebhookEvent = parseWebhook('{}');
if (event.name === 'channel.post') {
  const text: StatusText = event.health.status.text;
  void text;
}
${EXPECT_ERROR}: health exists only once the event is narrowed to channel.post
void event.health;
const gate = new GateClient({ baseUrl: 'http://127.0.0.1:8080', token: 't' });
void gate.messages.sendText({ to: '61371989950', body: 'hi' }, { idempotencyKey: 'k' });
${EXPECT_ERROR}: a send needs a body
void gate.messages.sendText({ to: '61371989950' });
const code: StatusCode = channelStatus('QR').code;
${EXPECT_ERROR}: no such status text in the protocol's table
channelStatus('ONLINE');
const health: Pick<Health, 'status'> = { status: channelStatus('AUTH') };
void code; void health;
`;

describe('@wagate/protocol and @wagate/client as packages', () => {
  it('each builds to dist/index.js with declarations, packs, installs offline into an empty folder and runs from plain Node', async () => {
    // Both are built into copies (not packages/*/dist), so the test leaves the repository untouched.
    // The one outside dependency comes packed from this checkout's node_modules: an offline
    // install must not depend on what the machine's npm cache happens to hold.
    const typebox = await pack(join(ROOT, 'node_modules/@sinclair/typebox'));

    const protocolDir = stage('protocol');
    await run(process.execPath, [TSC, '-p', join(ROOT, 'packages/protocol/tsconfig.build.json'), '--outDir', join(protocolDir, 'dist')], { cwd: ROOT });
    const protocol = await pack(protocolDir);
    expect(protocol.name).toBe('@wagate/protocol');
    const protocolFiles = protocol.files.map((f) => f.path);
    expect(protocolFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/status.js', 'dist/events.d.ts']));
    expect(protocolFiles.filter((f) => !f.startsWith('dist/') && f !== 'README.md' && f !== 'package.json')).toEqual([]);
    expect(protocolFiles.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.includes('.test.'))).toEqual([]);

    // The client is built the way a user outside this repository would build it: against the
    // packed protocol installed beside it, never against the protocol's sources.
    const clientDir = stage('client');
    cpSync(join(ROOT, 'packages/client/src'), join(clientDir, 'src'), { recursive: true });
    writeFileSync(join(clientDir, 'tsconfig.json'), JSON.stringify({ extends: join(ROOT, 'packages/client/tsconfig.build.json'), compilerOptions: { rootDir: 'src', outDir: 'dist', typeRoots: [join(ROOT, 'node_modules/@types')] }, include: ['src'] }));
    await installOffline(clientDir, [typebox.filename, protocol.filename]);
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: clientDir }).catch((err: { stdout?: string }) => {
      throw new Error(`the client does not build against the packed @wagate/protocol:\n${err.stdout}`);
    });
    const client = await pack(clientDir);
    expect(client.name).toBe('@wagate/client');
    const clientFiles = client.files.map((f) => f.path);
    expect(clientFiles).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
    expect(clientFiles.filter((f) => !f.startsWith('dist/') && f !== 'README.md' && f !== 'package.json')).toEqual([]);
    expect(clientFiles.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // No copy of the protocol inside the client: its wire shapes come from @wagate/protocol only.
    expect(clientFiles.filter((f) => /status\.(js|d\.ts)$|^dist\/src\//.test(f))).toEqual([]);
    const clientIndex = readFileSync(join(clientDir, 'dist/protocol.js'), 'utf8');
    expect(clientIndex).toContain("from '@wagate/protocol'");
    expect(clientIndex).not.toMatch(/from '\.\.\//);

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await installOffline(app, [typebox.filename, protocol.filename, client.filename]);
    expect(readdirSync(join(app, 'node_modules/@wagate')).sort()).toEqual(['client', 'protocol']);
    // One protocol for both: the client's dependency is the installed @wagate/protocol, not a copy.
    expect(existsSync(join(app, 'node_modules/@wagate/client/node_modules'))).toBe(false);

    writeFileSync(join(app, 'check.mjs'), consumerJs);
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ id: 'msg_1', name: 'channel.post', status: { code: 4, text: 'AUTH' }, tampered: 'no_matching_signature', oneTable: true, notFound: { error: { code: 404, message: 'not found', details: 'x' } } });

    await typecheck(app, consumerTs);
  }, 120_000);
});
