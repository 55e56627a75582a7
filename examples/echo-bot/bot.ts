/**
 * Echo bot: answers every inbound text with `echo: <text>`, through wagate or Whapi.Cloud.
 *
 *   WAGATE_URL=http://127.0.0.1:8080 WAGATE_TOKEN=<channel token> \
 *   ECHO_BOT_PUBLIC_URL=http://127.0.0.1:3000/hook npm run example:echo-bot
 */
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { ChannelStatusTracker, GateClient, ResilientSender, isTextMessage, nodeWebhookHandler, type SendOutcome, type WebhookEvent } from '@wagate/client';

export interface EchoBotOptions {
  /** The gateway: `http://127.0.0.1:8080` for wagate, `https://gate.whapi.cloud` for Whapi.Cloud. */
  baseUrl: string;
  token: string;
  /** The `whsec_...` secret of the bot's webhook; without it deliveries are not verified. */
  secret?: string;
  port?: number;
  host?: string;
  /** Called with each echo's final outcome (default: one log line). */
  onOutcome?(outcome: SendOutcome): void;
}

export interface EchoBot {
  /** Where the bot listens for webhooks, e.g. `http://127.0.0.1:3000/hook`. */
  url: string;
  gate: GateClient;
  tracker: ChannelStatusTracker;
  sender: ResilientSender;
  close(): Promise<void>;
}

/** The webhook events the bot needs: inbound messages, and the channel's status for the tracker. */
export const ECHO_BOT_EVENTS = [
  { type: 'messages', method: 'post' },
  { type: 'channel', method: 'post' },
  { type: 'users', method: 'post' },
  { type: 'users', method: 'delete' },
] as const;

/** Starts the bot: a webhook receiver, a status tracker, and a sender that waits out reconnects. */
export async function startEchoBot(options: EchoBotOptions): Promise<EchoBot> {
  const gate = new GateClient({ baseUrl: options.baseUrl, token: options.token });
  const tracker = new ChannelStatusTracker({ client: gate });
  const sender = new ResilientSender({ client: gate, tracker });
  sender.on('outcome', options.onOutcome ?? logOutcome);

  const onEvent = (event: WebhookEvent, delivery: { id: string | null }): void => {
    tracker.handle(event, delivery);
    if (event.name !== 'messages.post') return;
    for (const message of event.messages) {
      // Our own echoes come back as messages.post too: answer only what others wrote.
      if (message.from_me || !isTextMessage(message)) continue;
      // One key per inbound message: a redelivered webhook cannot make the bot echo twice.
      void sender.send({ to: message.chat_id, body: `echo: ${message.text.body}` }, { idempotencyKey: `echo-${message.id}` });
    }
  };
  const server: Server = createServer(nodeWebhookHandler({ secret: options.secret, onEvent, onError: (err) => console.error('webhook refused:', (err as Error).message) }));
  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', resolve));
  tracker.start();
  const { port } = server.address() as { port: number };
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/hook`,
    gate,
    tracker,
    sender,
    close: async () => {
      tracker.stop();
      sender.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Points the channel's webhook at `url` (replacing an earlier one with the same url), keeping the others. */
export async function registerWebhook(gate: GateClient, url: string, secret?: string): Promise<void> {
  const { webhooks } = await gate.settings.get();
  const others = webhooks.filter((w) => w.url !== url);
  await gate.settings.patch({ webhooks: [...others, { url, events: [...ECHO_BOT_EVENTS], ...(secret ? { secret } : {}) }] });
}

/** The log line of an echo's outcome: a redelivered webhook's answer says it sent nothing. */
export function describeOutcome(outcome: SendOutcome): string {
  if (!outcome.ok) return `echo to ${outcome.request.to} failed (${outcome.error.kind}): ${outcome.error.message}`;
  if (outcome.replayed) return `already echoed to ${outcome.message.chat_id} (a redelivered webhook; nothing sent again)`;
  return `echoed to ${outcome.message.chat_id} after ${outcome.attempts} attempt(s)`;
}

function logOutcome(outcome: SendOutcome): void {
  if (outcome.ok) console.log(describeOutcome(outcome));
  else console.error(describeOutcome(outcome));
}

async function main(): Promise<void> {
  const env = process.env;
  const token = env.WAGATE_TOKEN;
  if (!token) throw new Error('set WAGATE_TOKEN to the channel token');
  const bot = await startEchoBot({ baseUrl: env.WAGATE_URL ?? 'http://127.0.0.1:8080', token, secret: env.ECHO_BOT_SECRET || undefined, port: Number(env.PORT ?? 3000), host: env.HOST });
  console.log(`echo bot listening on ${bot.url}`);
  if (env.ECHO_BOT_PUBLIC_URL) {
    await registerWebhook(bot.gate, env.ECHO_BOT_PUBLIC_URL, env.ECHO_BOT_SECRET || undefined);
    console.log(`webhook registered: ${env.ECHO_BOT_PUBLIC_URL}`);
  }
  bot.tracker.on('change', (c) => console.log(`channel ${c.from ?? '?'} -> ${c.to}`));
  const stop = (): void => void bot.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
