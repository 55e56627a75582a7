import type { Command } from 'commander';
import type { Settings, UpdateSettingsAnswer, Webhook } from '@wagate/protocol';
import { call, targetFromEnv } from '../api.js';
import { printObject, printTable, type Output } from '../output.js';

/** `key=value` to a settings field: JSON where it parses (numbers, booleans, objects), else text. */
function parseAssignment(pair: string): [string, unknown] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new Error(`"${pair}": write settings as key=value, e.g. callback_backoff_delay_ms=5000`);
  const raw = pair.slice(eq + 1);
  try {
    return [pair.slice(0, eq), JSON.parse(raw) as unknown];
  } catch {
    return [pair.slice(0, eq), raw];
  }
}

/** `messages.post,channel.post` to webhook event subscriptions. */
function parseEvents(list: string): Array<{ type: string; method: string }> {
  return list
    .split(',')
    .filter(Boolean)
    .map((name) => {
      const [type, method = 'post'] = name.trim().split('.');
      return { type: type as string, method };
    });
}

/** `wagate settings get|set` and `wagate webhooks ls|add|rm|test`. */
export function settingsCommands(program: Command, out: () => Output): void {
  const settings = program.command('settings').description("a channel's settings (as GET/PATCH /settings)");
  settings
    .command('get <channel>')
    .description('every setting, defaults applied')
    .action(async (channel: string) => {
      printObject(out(), await call<Settings>(targetFromEnv(), 'GET', `/partner/channels/${channel}/settings`));
    });
  settings
    .command('set <channel> <key=value...>')
    .description('change settings (values are JSON where they parse): set X callback_backoff_delay_ms=5000 proxy=')
    .action(async (channel: string, pairs: string[]) => {
      const patch = Object.fromEntries(pairs.map(parseAssignment));
      const answer = await call<UpdateSettingsAnswer>(targetFromEnv(), 'PATCH', `/partner/channels/${channel}/settings`, patch);
      if (out().json) printObject(out(), answer as unknown as Record<string, unknown>);
      else printObject(out(), { changed: answer.changes.length ? answer.changes.join(', ') : '(nothing)' });
    });

  const webhooks = program.command('webhooks').description("a channel's webhooks");
  const current = async (channel: string): Promise<Webhook[]> => (await call<Settings>(targetFromEnv(), 'GET', `/partner/channels/${channel}/settings`)).webhooks;
  const save = (channel: string, list: unknown[]): Promise<UpdateSettingsAnswer> => call<UpdateSettingsAnswer>(targetFromEnv(), 'PATCH', `/partner/channels/${channel}/settings`, { webhooks: list });

  webhooks
    .command('ls <channel>')
    .description("the channel's webhooks")
    .action(async (channel: string) => {
      const list = await current(channel);
      const rows = list.map((w) => ({ url: w.url, mode: w.mode, events: w.events.map((e) => `${e.type}.${e.method}`).join(','), signed: Boolean(w.secret), disabled: Boolean(w.disabled) }));
      printTable(out(), rows, ['url', 'mode', 'events', 'signed', 'disabled'], list);
    });
  webhooks
    .command('add <channel> <url>')
    .description('add a webhook (or replace the one with this url)')
    .option('--events <list>', 'comma-separated type.method, e.g. messages.post,channel.post', 'messages.post')
    .option('--mode <mode>', 'body, path or method', 'body')
    .option('--secret <whsec>', 'sign deliveries with this Standard Webhooks secret')
    .action(async (channel: string, url: string, o: { events: string; mode: string; secret?: string }) => {
      const others = (await current(channel)).filter((w) => w.url !== url);
      await save(channel, [...others, { url, mode: o.mode, events: parseEvents(o.events), ...(o.secret ? { secret: o.secret } : {}) }]);
      printObject(out(), { channel, url, added: true, webhooks: others.length + 1 });
    });
  webhooks
    .command('rm <channel> <url>')
    .description('remove the webhook with this url')
    .action(async (channel: string, url: string) => {
      const list = await current(channel);
      const kept = list.filter((w) => w.url !== url);
      if (kept.length === list.length) throw new Error(`${channel} has no webhook ${url}`);
      await save(channel, kept);
      printObject(out(), { channel, url, removed: true, webhooks: kept.length });
    });
  webhooks
    .command('test <channel> <url>')
    .description('send one signed test event to a url and print its answer')
    .option('--type <type>', 'the event type of the test event', 'messages')
    .option('--mode <mode>', 'body, path or method', 'body')
    .option('--secret <whsec>', 'sign it with this secret')
    .action(async (channel: string, url: string, o: { type: string; mode: string; secret?: string }) => {
      const answer = await call<Record<string, unknown>>(targetFromEnv(), 'POST', `/partner/channels/${channel}/settings/webhook_test`, { url, type: o.type, mode: o.mode, ...(o.secret ? { secret: o.secret } : {}) });
      printObject(out(), answer);
    });
}
