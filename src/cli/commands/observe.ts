import type { Command } from 'commander';
import QRCode from 'qrcode';
import type { PartnerChannel, QR } from '../../protocol/index.js';
import { call, stream, targetFromEnv } from '../api.js';
import { printObject, printTable, progress, type Output } from '../output.js';
import { channelRow } from './channels.js';

/** `wagate qr`, `wagate status [--watch]`, `wagate deliveries ls|replay`. */
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
    .description('every channel with its status; --watch follows changes live')
    .option('--watch', 'keep following status changes')
    .action(async (opts: { watch?: boolean }) => {
      const target = targetFromEnv();
      const list = async (): Promise<PartnerChannel[]> =>
        (await call<{ channels: PartnerChannel[] }>(target, 'GET', '/partner/channels/list?count=1000')).channels;
      const channels = await list();
      printTable(out(), channels.map(channelRow), ['id', 'name', 'engine', 'status', 'stopped'], channels);
      if (!opts.watch) return;
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      await stream(
        target,
        '/partner/events',
        (name, data) => {
          if (name !== 'channel.post') return;
          const d = data as { channel_id: string; health: { status: { text: string } } };
          const line = { at: new Date().toISOString(), id: d.channel_id, status: d.health.status.text };
          process.stdout.write(out().json ? `${JSON.stringify(line)}\n` : `${line.at}  ${line.id}  ${line.status}\n`);
        },
        abort.signal,
        () => process.stderr.write('following status changes (Ctrl-C stops)\n'),
      ).catch((err: unknown) => {
        if (!abort.signal.aborted) throw err;
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
      const page = await call<{ deliveries: Array<Record<string, unknown>>; total: number }>(targetFromEnv(), 'GET', `/partner/channels/${channel}/deliveries?${q}`);
      const rows = page.deliveries.map((d) => ({ ...d, event: `${(d.event as { type: string }).type}.${(d.event as { event: string }).event}` }));
      printTable(out(), rows, ['id', 'event', 'status', 'attempts', 'last_status', 'last_error', 'url'], page);
    });
  deliveries
    .command('replay <channel> <delivery>')
    .description('send a delivery again')
    .action(async (channel: string, delivery: string) => {
      const copy = await call<Record<string, unknown>>(targetFromEnv(), 'POST', `/partner/channels/${channel}/deliveries/${delivery}/replay`);
      printObject(out(), copy);
    });
}
