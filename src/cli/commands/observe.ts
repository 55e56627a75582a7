import type { Command } from 'commander';
import QRCode from 'qrcode';
import type { DeliveryView, PartnerChannel, QR } from '@wagate/protocol';
import { call, stream, targetFromEnv, type ApiTarget } from '../api.js';
import { printObject, printTable, progress, type Output } from '../output.js';
import { channelRow } from './channels.js';
import { ReasonLookup, readableTime } from './reasons.js';

/** `wagate qr`, `wagate status [--watch]`, `wagate events`, `wagate deliveries ls|replay`. */
export function observeCommands(program: Command, out: () => Output): void {
  program
    .command('qr <id>')
    .description("draw the channel's current QR code in the terminal (waits for one)")
    .option('--timeout <seconds>', 'how long to wait for a QR', '60')
    .action(async (id: string, opts: { timeout: string }) => {
      const target = targetFromEnv();
      const bar = progress(`waiting for a QR code on ${id}`);
      const deadline = Date.now() + Number(opts.timeout) * 1000;
      for (;;) {
        const qr = await call<QR>(target, 'GET', `/partner/channels/${id}/qr`);
        if (qr.status === 'OK' && qr.rowdata) {
          bar.done(`scan within ${qr.expire ?? '?'} s`);
          if (out().json) printObject(out(), { status: qr.status, rowdata: qr.rowdata, expire: qr.expire });
          // Colour codes only for a terminal: piped into a file or a pager, plain block characters.
          else process.stdout.write(await QRCode.toString(qr.rowdata, process.stdout.isTTY ? { type: 'terminal', small: true } : { type: 'utf8' }));
          return;
        }
        bar.update(`waiting for a QR code on ${id} (QR status ${qr.status})`);
        if (Date.now() > deadline) {
          bar.done();
          throw new Error(`no QR code on ${id} within ${opts.timeout} s (QR status ${qr.status})`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    });

  program
    .command('status')
    .description('every channel with its status; --watch follows changes live, with their reasons')
    .option('--watch', 'keep following status changes')
    .action(async (opts: { watch?: boolean }) => {
      const target = targetFromEnv();
      const { channels } = await call<{ channels: PartnerChannel[] }>(target, 'GET', '/partner/channels/list?count=1000');
      const nodes = channels.some((c) => c.node !== undefined) ? ['node'] : [];
      printTable(out(), channels.map(channelRow), ['id', 'name', 'engine', 'status', ...nodes, 'reason', 'detail', 'stopped'], channels);
      if (!opts.watch) return;
      const reasons = new ReasonLookup(target);
      await follow(target, 'following status changes and alerts (Ctrl-C stops)', async (name, data) => {
        if (name === 'alerts.post') return printAlert(out(), data as AlertEnvelope);
        if (name !== 'channel.post') return;
        const d = data as { channel_id: string; health: { status: { text: string } } };
        const line = { at: new Date().toISOString(), id: d.channel_id, status: d.health.status.text, reason: await reasons.reasonFor(d.channel_id, d.health.status.text) };
        process.stdout.write(out().json ? `${JSON.stringify(line)}\n` : `${readableTime(Date.parse(line.at))}  ${line.id}  ${line.status.padEnd(10)}  ${line.reason}\n`);
      });
    });

  program
    .command('events')
    .description('tail the event stream: status changes with reasons, QR codes, accounts, messages, receipts, alerts')
    .option('--channel <id>', 'only this channel')
    .action(async (opts: { channel?: string }) => {
      const target = targetFromEnv();
      const reasons = new ReasonLookup(target);
      await follow(target, 'following events (Ctrl-C stops)', async (name, data) => {
        const d = data as Record<string, unknown> & { channel_id: string };
        if (opts.channel && d.channel_id !== opts.channel) return;
        const summary = await summarise(name, d, reasons);
        const line = { at: new Date().toISOString(), channel: d.channel_id, event: name, summary };
        process.stdout.write(out().json ? `${JSON.stringify({ ...line, data: d })}\n` : `${readableTime(Date.parse(line.at))}  ${line.channel}  ${name.padEnd(13)}  ${summary}\n`);
      });
    });

  const deliveries = program.command('deliveries').description('the webhook delivery log of a channel');
  deliveries
    .command('ls <channel>')
    .description('deliveries, newest first')
    .option('--status <status>', 'pending, delivered or failed')
    .option('--count <n>', 'page size', '50')
    .action(async (channel: string, opts: { status?: string; count: string }) => {
      const q = new URLSearchParams({ count: opts.count, ...(opts.status ? { status: opts.status } : {}) });
      const page = await call<{ deliveries: DeliveryView[]; total: number }>(targetFromEnv(), 'GET', `/partner/channels/${channel}/deliveries?${q}`);
      printTable(out(), page.deliveries.map(readableDelivery), ['id', 'event', 'status', 'attempts', 'last_status', 'last_error', 'created', 'next_attempt', 'url'], page);
    });
  deliveries
    .command('replay <channel> [delivery]')
    .description('send a delivery again, or with --since/--until every delivery created in that range')
    .option('--since <time>', 'ISO time or unix ms: replay deliveries created from then')
    .option('--until <time>', 'ISO time or unix ms: ...up to then (default now)')
    .option('--status <status>', 'with a range: only pending, delivered or failed ones')
    .action(async (channel: string, delivery: string | undefined, o: { since?: string; until?: string; status?: string }) => {
      const target = targetFromEnv();
      if (delivery) {
        const copy = await call<DeliveryView>(target, 'POST', `/partner/channels/${channel}/deliveries/${delivery}/replay`);
        printObject(out(), out().json ? copy : readableDelivery(copy));
        return;
      }
      if (!o.since) throw new Error('name a delivery id, or a range with --since (and --until)');
      const body = { since: parseTime(o.since), until: o.until ? parseTime(o.until) : Date.now(), ...(o.status ? { status: o.status } : {}) };
      const answer = await call<{ replayed: number; deliveries: DeliveryView[] }>(target, 'POST', `/partner/channels/${channel}/deliveries/replay`, body);
      printTable(out(), answer.deliveries.map(readableDelivery), ['id', 'replay_of', 'event', 'status', 'url', 'created'], answer);
    });
}

interface AlertEnvelope {
  channel_id: string;
  /** `at` in unix seconds, as Whapi's events carry times. */
  alert: { kind: string; detail: string; at: number };
}

/** One `status --watch` line for an alert (remediation, needs_attention, flapping, ...), as it comes. */
function printAlert(o: Output, d: AlertEnvelope): void {
  const at = d.alert.at * 1000;
  const line = { at: new Date(at).toISOString(), id: d.channel_id, alert: d.alert.kind, detail: d.alert.detail };
  process.stdout.write(o.json ? `${JSON.stringify(line)}\n` : `${readableTime(at)}  ${line.id}  ${'alert'.padEnd(10)}  ${line.alert}: ${line.detail}\n`);
}

/** Follows the partner event stream until Ctrl-C, one event at a time and in order. */
async function follow(target: ApiTarget, opened: string, onEvent: (name: string, data: unknown) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let chain = Promise.resolve();
  await stream(
    target,
    '/partner/events',
    (name, data) => {
      chain = chain.then(() => onEvent(name, data)).catch((err: unknown) => {
          process.stderr.write(`wagate: ${(err as Error).message}\n`);
        });
    },
    abort.signal,
    () => process.stderr.write(`${opened}\n`),
  ).catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  await chain;
}

/** One line about an event; never a message's text (it may be private). */
async function summarise(name: string, d: Record<string, unknown>, reasons: ReasonLookup): Promise<string> {
  switch (name) {
    case 'channel.post': {
      const status = (d.health as { status: { text: string } }).status.text;
      return `${status}  ${await reasons.reasonFor(d.channel_id as string, status)}`.trim();
    }
    case 'channel.patch':
      return `new QR (expires in ${(d.qr as { expire?: number }).expire ?? '?'} s)`;
    case 'users.post':
    case 'users.delete': {
      const u = d.user as { id: string; name?: string };
      return `${name === 'users.post' ? 'linked' : 'unlinked'} ${u.id}${u.name ? ` (${u.name})` : ''}`;
    }
    case 'messages.post':
      return (d.messages as Array<{ id: string; from_me: boolean; chat_id: string; type: string }>).map((m) => `${m.from_me ? 'sent to' : 'from'} ${m.chat_id} ${m.type} ${m.id}`).join('; ');
    case 'statuses.post':
      return (d.statuses as Array<{ id: string; status: string }>).map((s) => `${s.id} ${s.status}`).join('; ');
    case 'alerts.post': {
      const a = d.alert as { kind: string; detail: string };
      return `${a.kind}: ${a.detail}`;
    }
    default:
      return '';
  }
}

/** A delivery with its times readable (the raw unix ms stay in --json). */
function readableDelivery(d: DeliveryView): Record<string, unknown> {
  return {
    id: d.id,
    replay_of: d.replay_of,
    event: `${d.event.type}.${d.event.event}`,
    status: d.status,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    url: d.url,
    created: readableTime(d.created_at),
    next_attempt: d.status === 'pending' ? readableTime(d.next_attempt_at) : '',
    delivered: readableTime(d.delivered_at),
  };
}

/** An ISO time or unix milliseconds. */
function parseTime(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`"${value}" is not a time: write an ISO time (2026-12-01T10:00:00Z) or unix milliseconds`);
  return ms;
}
