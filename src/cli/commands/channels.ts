import type { Command } from 'commander';
import type { PartnerChannel } from '@wagate/protocol';
import { call, targetFromEnv, type ApiTarget } from '../api.js';
import { printObject, printTable, progress, type Output } from '../output.js';

const STATUSES = ['NOT_INIT', 'INIT', 'LAUNCH', 'QR', 'AUTH', 'ERROR', 'SYNC_ERROR', 'STOP'];

/** The table row of a channel. */
export function channelRow(c: PartnerChannel): Record<string, unknown> {
  const row: Record<string, unknown> = { id: c.id, name: c.name, engine: c.engine, status: c.status.text, reason: c.reason ?? '', detail: c.detail ?? '', stopped: c.stopped, created: new Date(c.creationTS).toISOString() };
  // Several nodes: the node that runs it (`-` while none does).
  if (c.node !== undefined) row.node = c.node ?? '-';
  return row;
}

/** Polls a channel until it reaches `status`, showing progress; throws after `timeoutMs`. */
export async function waitForStatus(target: ApiTarget, id: string, status: string, timeoutMs: number): Promise<PartnerChannel> {
  const bar = progress(`waiting for ${id} to reach ${status}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await call<PartnerChannel>(target, 'GET', `/partner/channels/${id}`);
    bar.update(`waiting for ${id} to reach ${status} (now ${c.status.text})`);
    if (c.status.text === status) {
      bar.done(`${id} is ${status}`);
      return c;
    }
    if (Date.now() > deadline) {
      bar.done();
      throw new Error(`${id} did not reach ${status} within ${timeoutMs / 1000} s (it is ${c.status.text})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function parseWait(value: string): string {
  const s = value.toUpperCase();
  if (!STATUSES.includes(s)) throw new Error(`--wait takes one of ${STATUSES.join(', ')}`);
  return s;
}

/** `wagate channels ls|create|rm|restart|stop|start|token`. */
export function channelCommands(program: Command, out: () => Output): void {
  const channels = program.command('channels').description('manage channels (partner API)');

  channels
    .command('ls')
    .description('list channels')
    .option('--count <n>', 'page size', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (opts: { count: string; offset: string }) => {
      const page = await call<{ channels: PartnerChannel[]; total: number }>(targetFromEnv(), 'GET', `/partner/channels/list?count=${opts.count}&offset=${opts.offset}`);
      printTable(out(), page.channels.map(channelRow), ['id', 'name', 'engine', 'status', 'stopped', 'created'], page);
    });

  channels
    .command('create <name>')
    .description('create a channel; prints its token once')
    .option('--engine <engine>', 'sandbox or baileys')
    .option('--sandbox <json>', 'sandbox timings as JSON, e.g. {"init_ms":100}')
    .option('--wait <status>', 'wait until the channel reaches this status', parseWait)
    .option('--timeout <seconds>', 'how long --wait waits', '60')
    .action(async (name: string, opts: { engine?: string; sandbox?: string; wait?: string; timeout: string }) => {
      const target = targetFromEnv();
      const body: Record<string, unknown> = { name };
      // Sandbox timings imply the sandbox engine.
      const engine = opts.engine ?? (opts.sandbox ? 'sandbox' : undefined);
      if (engine) body.engine = engine;
      if (opts.sandbox) body.sandbox = JSON.parse(opts.sandbox) as unknown;
      const created = await call<PartnerChannel>(target, 'PUT', '/partner/channels', body);
      const shown = opts.wait ? { ...(await waitForStatus(target, created.id, opts.wait, Number(opts.timeout) * 1000)), token: created.token } : created;
      printObject(out(), { ...channelRow(shown), token: created.token, apiUrl: created.apiUrl });
    });

  channels
    .command('rm <id>')
    .description('delete a channel: its engine stops and its credentials are wiped')
    .action(async (id: string) => {
      await call(targetFromEnv(), 'DELETE', `/partner/channels/${id}`);
      printObject(out(), { id, deleted: true });
    });

  for (const action of ['restart', 'stop', 'start'] as const) {
    channels
      .command(`${action} <id>`)
      .description(`${action} a channel`)
      .option('--wait <status>', 'wait until the channel reaches this status', parseWait)
      .option('--timeout <seconds>', 'how long --wait waits', '60')
      .action(async (id: string, opts: { wait?: string; timeout: string }) => {
        const target = targetFromEnv();
        let channel = await call<PartnerChannel>(target, 'POST', `/partner/channels/${id}/${action}`);
        if (opts.wait) channel = await waitForStatus(target, id, opts.wait, Number(opts.timeout) * 1000);
        printObject(out(), channelRow(channel));
      });
  }

  channels
    .command('token <id>')
    .description('rotate the channel token; the old one stops working at once')
    .action(async (id: string) => {
      const channel = await call<PartnerChannel>(targetFromEnv(), 'POST', `/partner/channels/${id}/token`);
      printObject(out(), { id: channel.id, token: channel.token });
    });
}
