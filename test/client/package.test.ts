import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE = join(ROOT, 'packages/client');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'wagate-client-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A consumer that knows nothing of this repository: plain Node, the installed package only.
const consumerJs = `
import { createHmac } from 'node:crypto';
import { parseWebhook, verifyWebhook, WebhookVerificationError, STATUS } from '@wagate/client';

const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const body = JSON.stringify({ health: { start_at: 1, uptime: 2, status: { code: STATUS.AUTH, text: 'AUTH' } }, event: { type: 'channel', event: 'post' }, channel_id: 'MANTIS-M72HC' });
const timestamp = Math.floor(Date.now() / 1000);
const mac = createHmac('sha256', Buffer.alloc(32, 7)).update('msg_1.' + timestamp + '.' + body).digest('base64');
const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': 'v1,' + mac };

const verified = verifyWebhook(secret, headers, body);
const event = parseWebhook(body);
let tampered = 'accepted';
try { verifyWebhook(secret, headers, body + ' '); } catch (err) { tampered = err instanceof WebhookVerificationError ? err.reason : String(err); }
console.log(JSON.stringify({ id: verified.id, name: event.name, status: event.health.status.text, tampered }));
`;

// Spelled in two parts: TypeScript honours the directive even inside this file's template literal.
const EXPECT_ERROR = '// @ts-' + 'expect-error';

// The same consumer in TypeScript: the declarations must resolve (not degrade to any: the
// expect-error directives fail the check if they do).
const consumerTs = `
import { parseWebhook, GateClient, type StatusText, type WebhookEvent } from '@wagate/client';

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
`;

describe('@wagate/client as a package', () => {
  it('builds to JavaScript with declarations, packs, installs offline on its own and runs from plain Node', async () => {
    // Built into a copy (not packages/client/dist) so that the test leaves the repository untouched.
    const pkg = join(work, 'pkg');
    mkdirSync(pkg);
    await run(process.execPath, [TSC, '-p', join(PACKAGE, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: ROOT });
    for (const file of ['package.json', 'README.md']) copyFileSync(join(PACKAGE, file), join(pkg, file));
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: pkg });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info?.files.map((f) => f.path) ?? [];
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/packages/client/src/index.js', 'dist/packages/client/src/index.d.ts', 'dist/src/protocol/events.d.ts']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // The one dependency comes packed from this checkout's node_modules: an offline install must
    // not depend on what the machine's npm cache happens to hold.
    const typebox = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: join(ROOT, 'node_modules/@sinclair/typebox') });
    const [dep] = JSON.parse(typebox.stdout) as Array<{ filename: string }>;
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(work, dep?.filename as string), join(work, info?.filename as string)], { cwd: app });
    expect(readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.')).sort()).toEqual(['@sinclair', '@wagate']);

    writeFileSync(join(app, 'check.mjs'), consumerJs);
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ id: 'msg_1', name: 'channel.post', status: 'AUTH', tampered: 'no_matching_signature' });

    writeFileSync(join(app, 'check.ts'), consumerTs);
    const tsconfig = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['check.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app }).catch((err: { stdout?: string }) => {
      throw new Error(`the consumer does not typecheck against the installed declarations:\n${err.stdout}`);
    });
  }, 90_000);
});
