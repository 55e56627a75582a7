import type { Command } from 'commander';
import { call, targetFromEnv } from '../api.js';
import { printObject, type Output } from '../output.js';

/** `wagate sandbox CHANNEL scan|blip|flap|silence|unlink|sync-error|inbound`. */
export function sandboxCommands(program: Command, out: () => Output): void {
  const sandbox = program.command('sandbox').description("drive a sandbox channel's simulated phone and network");
  const control = async (channel: string, name: string, body: Record<string, unknown> = {}): Promise<void> => {
    const answer = await call<Record<string, unknown>>(targetFromEnv(), 'POST', `/partner/channels/${channel}/sandbox/${name}`, body);
    printObject(out(), { channel, control: name, ...answer });
  };

  sandbox
    .command('scan <channel>')
    .description('the phone scans the QR: AUTH')
    .option('--id <phone>', "the linked account's phone number")
    .option('--name <name>', "the linked account's name")
    .action((channel: string, o: { id?: string; name?: string }) => control(channel, 'scan', o.id || o.name ? { user: { ...(o.id ? { id: o.id } : {}), ...(o.name ? { name: o.name } : {}) } } : {}));
  sandbox
    .command('blip <channel>')
    .description('a transient drop')
    .option('--duration <ms>', 'how long the network is down', '2500')
    .action((channel: string, o: { duration: string }) => control(channel, 'blip', { duration_ms: Number(o.duration) }));
  sandbox
    .command('flap <channel>')
    .description('several blips in a row')
    .option('--times <n>', 'how many blips', '3')
    .option('--interval <ms>', 'one blip every', '5000')
    .action((channel: string, o: { times: string; interval: string }) => control(channel, 'flap', { times: Number(o.times), interval_ms: Number(o.interval) }));
  sandbox
    .command('silence <channel>')
    .description('the network carries nothing and nothing closes, until the liveness watch declares the connection lost')
    .action((channel: string) => control(channel, 'silence'));
  sandbox.command('unlink <channel>').description('the phone logs this device out').action((channel: string) => control(channel, 'unlink'));
  sandbox.command('sync-error <channel>').description('the sync with the phone fails: SYNC_ERROR').action((channel: string) => control(channel, 'sync_error'));
  sandbox
    .command('inbound <channel>')
    .description('a text message arrives')
    .requiredOption('--from <phone>', "the sender's phone number")
    .requiredOption('--body <text>', 'the text')
    .action((channel: string, o: { from: string; body: string }) => control(channel, 'inbound', { from: o.from, body: o.body }));
}
