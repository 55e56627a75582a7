import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, until, type Call } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/wagate.js');
const ADMIN = 'cli-commands-admin-0123456789';
const FAST = { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null };
let gw: GatewayProcess;
let receiver: Receiver;
let partner: Call;

/** Runs the real `wagate` binary (its output is a pipe, not a terminal). */
async function wagate(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, WAGATE_URL: gw.url, WAGATE_ADMIN_TOKEN: ADMIN }, timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** Starts a long-running `wagate` command and collects its output until stopped with SIGINT. */
function live(...args: string[]): { out: () => string; err: () => string; stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, WAGATE_URL: gw.url, WAGATE_ADMIN_TOKEN: ADMIN } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    out: () => out,
    err: () => err,
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

async function statusOf(id: string): Promise<string> {
  return (await partner<{ status: { text: string } }>('GET', `/partner/channels/${id}`)).body.status.text;
}

/** A sandbox channel, paired (AUTH) when asked. */
async function channel(paired: boolean): Promise<string> {
  const { body } = await partner<{ id: string }>('PUT', '/partner/channels', { name: 'cli', engine: 'sandbox', sandbox: FAST });
  await until(async () => (await statusOf(body.id)) === 'QR', 'QR');
  if (paired) {
    await partner('POST', `/partner/channels/${body.id}/sandbox/scan`, { user: { id: '61371989950', name: 'Shop' } });
    await until(async () => (await statusOf(body.id)) === 'AUTH', 'AUTH');
  }
  return body.id;
}

beforeAll(async () => {
  gw = await startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: ADMIN });
  partner = client(gw.url, ADMIN);
  receiver = await startReceiver();
});
afterAll(async () => {
  await gw?.kill('SIGKILL');
  await receiver?.close();
});

describe('the wagate CLI: the commands an operator was missing', { timeout: 180_000 }, () => {
  it('send, then logout: the message goes out, the account is gone, a second logout explains itself', async () => {
    const id = await channel(true);
    const sent = await wagate('--json', 'send', id, '--to', '4915112345678', '--body', 'hello from the cli');
    expect(sent.code, sent.stderr).toBe(0);
    const message = JSON.parse(sent.stdout) as { id: string; chat_id: string };
    expect(message.chat_id).toBe('4915112345678@s.whatsapp.net');
    const carried = await client(gw.url, ADMIN)<{ messages: Array<{ id: string; body: string }> }>('GET', `/partner/channels/${id}/messages/list`);
    expect(carried.body.messages.map((m) => m.id)).toContain(message.id);

    expect((await wagate('logout', id)).code).toBe(0);
    await until(async () => (await statusOf(id)) === 'QR', 'a new pairing round');
    expect((await partner<{ user?: unknown }>('GET', `/partner/channels/${id}`)).body.user).toBeUndefined();
    const again = await wagate('logout', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409');
  });

  it('settings get|set and webhooks add|ls|test|rm change what the gateway stores', async () => {
    const id = await channel(false);
    expect(JSON.parse((await wagate('--json', 'settings', 'get', id)).stdout)).toMatchObject({ callback_backoff_delay_ms: 3000, webhooks: [] });
    const set = await wagate('settings', 'set', id, 'callback_backoff_delay_ms=5000', 'callback_persist=false');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/changed\s+.*callback_backoff_delay_ms/);
    const stored = await partner<{ callback_backoff_delay_ms: number; callback_persist: boolean; webhooks: Array<{ url: string; events: unknown[] }> }>('GET', `/partner/channels/${id}/settings`);
    expect(stored.body).toMatchObject({ callback_backoff_delay_ms: 5000, callback_persist: false });
    const refused = await wagate('settings', 'set', id, 'callback_backoff_delay_ms=1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('callback_backoff_delay_ms');

    const url = `${receiver.url}/cli-hook`;
    expect((await wagate('webhooks', 'add', id, url, '--events', 'messages.post,channel.post')).code).toBe(0);
    const withHook = await partner<{ webhooks: Array<{ url: string; events: Array<{ type: string; method: string }> }> }>('GET', `/partner/channels/${id}/settings`);
    expect(withHook.body.webhooks).toEqual([expect.objectContaining({ url, events: [{ type: 'messages', method: 'post' }, { type: 'channel', method: 'post' }] })]);
    expect((await wagate('webhooks', 'ls', id)).stdout).toMatch(new RegExp(`${url}\\s+body\\s+messages.post,channel.post`));

    const before = receiver.received.length;
    const tested = await wagate('--json', 'webhooks', 'test', id, url);
    expect(tested.code, tested.stderr).toBe(0);
    expect(JSON.parse(tested.stdout)).toMatchObject({ success: true, status: 200 });
    await until(() => receiver.received.slice(before).some((r) => r.path === '/cli-hook' && r.json.test === true), 'the test event');

    expect((await wagate('webhooks', 'rm', id, url)).code).toBe(0);
    expect((await partner<{ webhooks: unknown[] }>('GET', `/partner/channels/${id}/settings`)).body.webhooks).toEqual([]);
    expect((await wagate('webhooks', 'rm', id, url)).stderr).toContain(`has no webhook ${url}`);
  });

  it('events and status --watch print each change with its reason', async () => {
    const id = await channel(true);
    const events = live('events', '--channel', id);
    const watch = live('status', '--watch');
    try {
      await until(() => events.err().includes('following events') && watch.err().includes('following status changes'), 'both streams to open');
      await partner('POST', `/partner/channels/${id}/sandbox/fail`, { reason: 'replaced' });
      await until(() => /ERROR\s+replaced: sandbox fail: replaced/.test(watch.out()), 'status --watch to show ERROR with its reason and detail');
      await until(() => new RegExp(`${id}\\s+channel\\.post\\s+ERROR\\s+replaced: sandbox fail: replaced`).test(events.out()), 'events to show ERROR with its reason').catch((err: Error) => {
        throw new Error(`${err.message}; events printed:\n${events.out()}${events.err()}`);
      });
      // The status change's own reason and detail (not the note remediation wrote after it)...
      expect(watch.out()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  ${id}  ERROR\\s+replaced: sandbox fail: replaced$`, 'm'));
      // ...and the hand-over alert that follows it, as it comes.
      await until(() => new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  ${id}  alert\\s+needs_attention: ERROR replaced`, 'm').test(watch.out()), 'status --watch to print the needs_attention alert');
    } finally {
      expect(await events.stop()).toBe(0);
      expect(await watch.stop()).toBe(0);
    }
  });

  it('qr prints no ANSI codes when its output is not a terminal', async () => {
    const id = await channel(false);
    const qr = await wagate('qr', id);
    expect(qr.code, qr.stderr).toBe(0);
    expect(qr.stdout).toContain('█');
    // eslint-disable-next-line no-control-regex
    expect(qr.stdout).not.toMatch(/\x1b\[/);
  });

  it('deliveries ls and replay print readable times; a range replays every failed one', async () => {
    const id = await channel(false);
    receiver.respond({ status: 500 });
    await partner('PATCH', `/partner/channels/${id}/settings`, { webhooks: [{ url: `${receiver.url}/failing`, events: [{ type: 'channel', method: 'post' }], webhook_max_age_seconds: 15 }] });
    const from = Date.now();
    await partner('POST', `/partner/channels/${id}/stop`);
    await partner('POST', `/partner/channels/${id}/start`);
    await until(async () => (await partner<{ total: number }>('GET', `/partner/channels/${id}/deliveries?status=failed`)).body.total >= 2, 'two failed deliveries', 60_000);
    receiver.respond({ status: 200 });

    const ls = await wagate('deliveries', 'ls', id, '--status', 'failed');
    expect(ls.stdout.split('\n')[0]).toMatch(/^ID\s+EVENT\s+STATUS\s+ATTEMPTS\s+LAST_STATUS\s+LAST_ERROR\s+CREATED/);
    expect(ls.stdout).toMatch(/failed\s+\d+\s+500\s+.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    const [first] = (await partner<{ deliveries: Array<{ id: number }> }>('GET', `/partner/channels/${id}/deliveries?status=failed`)).body.deliveries;

    const one = await wagate('deliveries', 'replay', id, String(first?.id));
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(one.stdout).not.toMatch(/created_at\s+\d{13}/);

    const range = await wagate('--json', 'deliveries', 'replay', id, '--since', new Date(from).toISOString(), '--status', 'failed');
    expect(range.code, range.stderr).toBe(0);
    const answer = JSON.parse(range.stdout) as { replayed: number };
    expect(answer.replayed).toBeGreaterThanOrEqual(2);
    const bad = await wagate('deliveries', 'replay', id, '--since', 'yesterday-ish');
    expect(bad.stderr).toContain('is not a time');
  });

  it('nodes shows one standalone node on SQLite, running every channel', async () => {
    const id = await channel(false);
    const table = await wagate('nodes');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+LIVE\s+STATE\s+CHANNELS\s+AUTH\s+HEARTBEAT\s+URL/);
    expect(table.stdout).toMatch(/standalone \*\s+yes\s+up\s+\d+/);
    const json = JSON.parse((await wagate('--json', 'nodes')).stdout) as { nodes: Array<{ id: string; channel_ids: string[] }>; total: number };
    expect(json.total).toBe(1);
    expect(json.nodes[0]?.channel_ids).toContain(id);
  });

  it('--help marks the options a command requires', async () => {
    const help = await wagate('send', '--help');
    expect(help.stdout).toMatch(/--to <phone\|chat>\s+\(required\)/);
    expect(help.stdout).toMatch(/--body <text>\s+\(required\)/);
    expect(help.stdout).not.toMatch(/--key <idempotency-key>\s+\(required\)/);
    expect((await wagate('sandbox', 'inbound', '--help')).stdout).toMatch(/--from <phone>\s+\(required\)/);
  });
});
