import type { Command } from 'commander';
import type { SentMessage } from '@wagate/protocol';
import { call, targetFromEnv } from '../api.js';
import { printObject, type Output } from '../output.js';

/** `wagate logout` and `wagate send`: acting on a channel's account. */
export function actCommands(program: Command, out: () => Output): void {
  program
    .command('logout <channel>')
    .description('log the linked account out: credentials are wiped and a new pairing round starts')
    .action(async (channel: string) => {
      await call(targetFromEnv(), 'POST', `/partner/channels/${channel}/logout`);
      printObject(out(), { channel, logged_out: true });
    });

  program
    .command('send <channel>')
    .description('send a text message from the channel')
    .requiredOption('--to <phone|chat>', 'a phone number or a chat id')
    .requiredOption('--body <text>', 'the text')
    .option('--key <idempotency-key>', 'an Idempotency-Key: the same key sends once')
    .action(async (channel: string, o: { to: string; body: string; key?: string }) => {
      const target = targetFromEnv();
      const headers = o.key ? { 'idempotency-key': o.key } : undefined;
      const sent = await call<SentMessage>(target, 'POST', `/partner/channels/${channel}/messages/text`, { to: o.to, body: o.body }, headers);
      printObject(out(), { id: sent.message.id, chat_id: sent.message.chat_id, status: sent.message.status });
    });
}
