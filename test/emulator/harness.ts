import { WA_CERT_DETAILS } from 'baileys';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until, type Call } from '../support/http.js';
import { startReceiver, type Receiver, type Received } from '../support/receiver.js';
import { trustRoot } from './certificates.js';
import { MEDIA_HOST_PEM } from './media-host.js';
import { WhatsAppEmulator, type CarriedMessage } from './server.js';

/** The lifecycle webhooks an emulator test listens to. */
export const LIFECYCLE_EVENTS = ['channel.post', 'channel.patch', 'users.post', 'users.delete'].map((n) => {
  const [type, method] = n.split('.') as [string, string];
  return { type, method };
});

export interface EmulatedSetup {
  emulator: WhatsAppEmulator;
  receiver: Receiver;
  gw: TestGateway;
  gate: Call;
  /** The channel's token (for raw requests, e.g. a file download). */
  token: string;
  close(): Promise<void>;
}

/**
 * An emulator, a webhook receiver and an in-process gateway whose baileys channels connect to
 * the emulator (`WAGATE_BAILEYS_WS_URL`), trusting the emulator's root key and its media host's
 * TLS certificate (`WAGATE_BAILEYS_MEDIA_CA`).
 */
export async function startEmulatedGateway(baileys: Record<string, unknown> = {}): Promise<EmulatedSetup> {
  const emulator = await startTrustedEmulator();
  const receiver = await startReceiver();
  const gw = await startGatewayOn(emulator);
  const { gate, token } = await createEmulatedChannel(gw, receiver, baileys);
  return {
    emulator,
    receiver,
    gw,
    gate,
    token,
    close: async () => {
      await receiver.close();
      await gw.close();
      await emulator.close();
    },
  };
}

/** An emulator whose root key the Baileys instance the engine loads trusts. */
export async function startTrustedEmulator(): Promise<WhatsAppEmulator> {
  const emulator = await WhatsAppEmulator.start();
  trustRoot(emulator.authority.root.public);
  // The engine imports 'baileys' lazily; this import resolves to the same module instance.
  const seen = (await import('baileys')).WA_CERT_DETAILS;
  if (seen !== WA_CERT_DETAILS || !seen.PUBLIC_KEY.equals(Buffer.from(emulator.authority.root.public))) {
    throw new Error('the emulator root key did not reach the Baileys instance the engine loads');
  }
  return emulator;
}

/** An in-process gateway whose baileys channels connect to `emulator`, trusting its media host; `env` adds to it. */
export function startGatewayOn(emulator: WhatsAppEmulator, opts: { env?: Record<string, string>; random?: () => number } = {}): Promise<TestGateway> {
  return startTestGateway({ random: opts.random, env: { WAGATE_BAILEYS_WS_URL: emulator.url, WAGATE_BAILEYS_MEDIA_CA: MEDIA_HOST_PEM, WAGATE_LOG_LEVEL: 'silent', ...opts.env } });
}

/** Another baileys channel on the setup's gateway, its lifecycle webhooks going to `receiver`. */
export function createEmulatedChannel(gw: TestGateway, receiver: Receiver, baileys: Record<string, unknown> = {}): Promise<{ id: string; token: string; gate: Call }> {
  return gw.createChannel({
    engine: 'baileys',
    baileys: { sync_timeout_ms: 3_600_000, ...baileys },
    settings: { webhooks: [{ url: `${receiver.url}/hook`, events: LIFECYCLE_EVENTS, mode: 'body' }] },
  });
}

/** The channel's status text now. */
export async function statusText(gate: Call): Promise<string> {
  const { body } = await gate<{ status: { text: string } }>('GET', '/health?wakeup=false');
  return body.status.text;
}

/** Waits until the channel is in `text`. */
export async function reach(gate: Call, text: string, timeoutMs = 15_000): Promise<void> {
  await until(async () => (await statusText(gate)) === text, `status ${text}`, timeoutMs);
}

/** Waits for QR, reads `GET /users/login`, and lets the emulator's phone scan its rowdata. */
export async function scanQr(setup: Pick<EmulatedSetup, 'gate' | 'emulator'>): Promise<string> {
  await reach(setup.gate, 'QR');
  const qr = await setup.gate<{ status: string; rowdata: string }>('GET', '/users/login');
  if (qr.status !== 200 || !qr.body.rowdata) throw new Error(`GET /users/login answered ${qr.status}`);
  setup.emulator.scan(qr.body.rowdata);
  return qr.body.rowdata;
}

/** Pairs the setup's channel through the emulator: AUTH, with users.post delivered. */
export async function pair(setup: EmulatedSetup): Promise<void> {
  await scanQr(setup);
  await reach(setup.gate, 'AUTH');
  await until(() => setup.receiver.received.some((r) => eventOf(r) === 'users.post'), 'users.post');
}

/** `type.method` of a received webhook. */
export function eventOf(r: Received): string {
  const e = r.json.event as { type: string; event: string } | undefined;
  return e ? `${e.type}.${e.event}` : '';
}

/** The status text of a received `channel.post`, or the event name for others. */
export function label(r: Received): string {
  const ev = eventOf(r);
  if (ev !== 'channel.post') return ev;
  return (r.json.health as { status?: { text?: string } } | undefined)?.status?.text ?? '?';
}

/** libsignal (under Baileys and the emulated phones) logs every session it opens with console.info: mute it for the file. */
export function muteLibsignal(): void {
  beforeAll(() => void vi.spyOn(console, 'info').mockImplementation(() => undefined));
  afterAll(() => vi.restoreAllMocks());
}

/** For a test file: each call answers a freshly paired setup, closed after its test; libsignal is muted. */
export function pairedSetups(): () => Promise<EmulatedSetup> {
  let setup: EmulatedSetup | null = null;
  muteLibsignal();
  afterEach(async () => {
    await setup?.close();
    setup = null;
  });
  return async () => {
    setup = await startEmulatedGateway();
    await pair(setup);
    return setup;
  };
}

/** The message `id` as `GET /messages/{id}` answers it, once the gateway recorded it. */
export async function recorded(setup: EmulatedSetup, id: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let message = {};
  await until(async () => {
    const got = await setup.gate('GET', `/messages/${id}`);
    message = got.body;
    return got.status === 200;
  }, `message ${id} recorded`, 15_000);
  return message;
}

/** The message the recipient's emulated phone decrypted, once it has. */
export async function decrypted(setup: EmulatedSetup, id: string): Promise<CarriedMessage> {
  await until(() => setup.emulator.messages.some((m) => m.id === id && m.body !== undefined), `the phone decrypted ${id}`, 10_000);
  return setup.emulator.messages.find((m) => m.id === id)!;
}
