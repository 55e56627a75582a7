/**
 * Test support for the Baileys adapter: an in-memory credential store and a fake socket that
 * implements the part of Baileys' socket the adapter uses, replaying event sequences.
 */
import { EventEmitter } from 'node:events';
import { Boom } from '@hapi/boom';
import { initAuthCreds, type AnyMessageContent, type BinaryNode, type ChatModification, type WAMessageKey, type AuthenticationCreds, type Contact, type MiscMessageGenerationOptions, type UserFacingSocketConfig, type WAMessage } from 'baileys';
import { VirtualClock } from '../../channel/clock.js';
import type { EngineSignal } from '../../channel/lifecycle.js';
import type { Store } from '../../store/types.js';
import type { CredentialStore, EngineConnection, EngineContext, EngineData } from '../engine.js';
import { CREDS_KEY, encode } from './auth-state.js';
import { BaileysEngine } from './engine.js';
import type { BaileysEvents, SocketFactory, SocketLike } from './socket.js';

type Entries = Record<string, string | null>;

/** A credential store in memory; `setDelay` makes each `set` commit after a few event-loop turns. */
export class MemoryCredentials implements CredentialStore {
  readonly data = new Map<string, string>();
  readonly setCalls: Entries[] = [];
  wipes = 0;
  setDelay: (() => number) | null = null;
  /** The next `set` fails with this, once. */
  failNext: Error | null = null;

  async get(keys: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const key of keys) {
      const value = this.data.get(key);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  async set(entries: Entries): Promise<void> {
    this.setCalls.push({ ...entries });
    const failure = this.failNext;
    this.failNext = null;
    if (failure) throw failure;
    const turns = this.setDelay?.() ?? 0;
    for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
    for (const [key, value] of Object.entries(entries)) {
      if (value === null) this.data.delete(key);
      else this.data.set(key, value);
    }
  }

  async wipe(): Promise<void> {
    this.wipes += 1;
    this.data.clear();
  }
}

/** A channel's credentials in a real store, as the channel service hands them to an engine. */
export function storeCredentials(store: Store, channelId: string): CredentialStore {
  return {
    get: (keys) => store.getCredentials(channelId, keys),
    set: (entries) => store.setCredentials(channelId, entries),
    wipe: () => store.wipeCredentials(channelId),
  };
}

/** Makes a baileys channel in a real store (credentials need their channel row). */
export async function createTestChannel(store: Store, id: string): Promise<string> {
  await store.createChannel({ id, name: id, engine: 'baileys', tokenHash: `hash-${id}`, createdAt: Date.UTC(2026, 0, 1), settings: {}, engineOptions: {} });
  return id;
}

/** An engine context over a virtual clock and in-memory credentials. */
export function testContext(over: Partial<EngineContext> = {}): EngineContext & { clock: VirtualClock; credentials: MemoryCredentials } {
  return {
    channelId: 'TEST-BAILE',
    clock: new VirtualClock(),
    credentials: new MemoryCredentials(),
    options: {},
    proxy: () => '',
    ...over,
  } as EngineContext & { clock: VirtualClock; credentials: MemoryCredentials };
}

/** A Boom error as Baileys raises it. */
export function boom(message: string, statusCode: number): Boom {
  return new Boom(message, { statusCode });
}

/** The part of Baileys' socket the adapter uses, driven by the test. */
export class FakeSocket implements SocketLike {
  readonly sent: Array<{ jid: string; content: AnyMessageContent; options?: MiscMessageGenerationOptions }> = [];
  readonly ended: Array<Error | undefined> = [];
  readonly pairingRequests: string[] = [];
  loggedOut = 0;
  /** The next sendMessage throws this, once. */
  sendFailure: Error | null = null;
  /** The iqs the adapter sent (probes). */
  readonly queries: BinaryNode[] = [];
  /** The network carries nothing back: no acks, no answers. */
  silent = false;
  /** WhatsApp does not ack messages by itself (the test calls `ack`), but answers queries. */
  holdAcks = false;
  /** The server acks the next message with this error code, once. */
  ackError: string | null = null;
  /** Baileys' WebSocket client: frames from the server are emitted here. */
  readonly ws = new EventEmitter();
  private handlers = new Set<(events: BaileysEvents) => void | Promise<void>>();
  private serial = 0;

  readonly ev = {
    process: (handler: (events: BaileysEvents) => void | Promise<void>): (() => void) => {
      this.handlers.add(handler);
      return () => this.handlers.delete(handler);
    },
  };

  constructor(readonly config: UserFacingSocketConfig) {}

  get creds(): AuthenticationCreds {
    return this.config.auth.creds;
  }

  get user(): Contact | undefined {
    return this.creds.me;
  }

  /** Whether the adapter still listens. */
  get listening(): boolean {
    return this.handlers.size > 0;
  }

  /** Delivers one batch of events, as Baileys' `ev.process` does. */
  async emit(events: BaileysEvents): Promise<void> {
    for (const handler of [...this.handlers]) await handler(events);
  }

  /** Baileys applies a creds update to the auth state, then emits it. */
  async updateCreds(update: Partial<AuthenticationCreds>): Promise<void> {
    Object.assign(this.creds, update);
    await this.emit({ 'creds.update': update });
  }

  connecting(): Promise<void> {
    return this.emit({ 'connection.update': { connection: 'connecting', receivedPendingNotifications: false, qr: undefined } });
  }

  qr(text: string): Promise<void> {
    return this.emit({ 'connection.update': { qr: text } });
  }

  /** The phone scanned: WhatsApp's pair-success, as Baileys records it. */
  async paired(phone: string, device = 7): Promise<void> {
    await this.updateCreds({
      me: { id: `${phone}:${device}@s.whatsapp.net`, lid: `998877${device}:${device}@lid` },
      account: { details: Buffer.from('details'), accountSignatureKey: Buffer.alloc(32, 1), accountSignature: Buffer.alloc(64, 2), deviceSignature: Buffer.alloc(64, 3) },
      platform: 'android',
    });
    await this.emit({ 'connection.update': { isNewLogin: true, qr: undefined } });
  }

  open(): Promise<void> {
    return this.emit({ 'connection.update': { connection: 'open' } });
  }

  pendingNotificationsReceived(): Promise<void> {
    return this.emit({ 'connection.update': { receivedPendingNotifications: true } });
  }

  close(error: Error | undefined): Promise<void> {
    return this.emit({ 'connection.update': { connection: 'close', lastDisconnect: { error, date: new Date(0) } } });
  }

  async requestPairingCode(phone: string): Promise<string> {
    this.pairingRequests.push(phone);
    // As Baileys does: the account to be is recorded before the phone confirms.
    await this.updateCreds({ pairingCode: 'ABCD1234', me: { id: `${phone}@s.whatsapp.net`, name: '~' } });
    return 'ABCD1234';
  }

  /** A frame from the server, as Baileys' socket emits it (`frame`, then `CB:ack,class:...` for acks). */
  receive(node: BinaryNode): void {
    this.ws.emit('frame', node);
    if (node.tag === 'ack') this.ws.emit(`CB:ack,class:${node.attrs.class}`, node);
  }

  /** WhatsApp's server acknowledges message `id`. */
  ack(id: string, error?: string): void {
    this.receive({ tag: 'ack', attrs: { class: 'message', id, from: 's.whatsapp.net', ...(error ? { error } : {}) } });
  }

  async query(node: BinaryNode): Promise<BinaryNode> {
    this.queries.push(node);
    if (this.silent) return new Promise<BinaryNode>(() => undefined);
    const answer: BinaryNode = { tag: 'iq', attrs: { type: 'result', id: node.attrs.id ?? 'q', from: 's.whatsapp.net' } };
    queueMicrotask(() => this.receive(answer));
    return answer;
  }

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    const failure = this.sendFailure;
    this.sendFailure = null;
    if (failure) throw failure;
    this.sent.push({ jid, content, options });
    this.serial += 1;
    const id = options?.messageId ?? `3EB0FAKE${this.serial}`;
    const error = this.ackError;
    this.ackError = null;
    if (!this.silent && !this.holdAcks) queueMicrotask(() => this.ack(id, error ?? undefined));
    const text = (content as { text: string }).text;
    return { key: { remoteJid: jid, fromMe: true, id }, message: { extendedTextMessage: { text } }, messageTimestamp: 1_767_225_600 + this.serial };
  }

  /** App-state changes and read receipts the adapter asked for. */
  readonly modified: Array<{ mod: ChatModification; jid: string }> = [];
  readonly read: WAMessageKey[][] = [];

  async chatModify(mod: ChatModification, jid: string): Promise<void> {
    this.modified.push({ mod, jid });
  }

  async readMessages(keys: WAMessageKey[]): Promise<void> {
    this.read.push(keys);
  }

  async logout(): Promise<void> {
    this.loggedOut += 1;
    await this.end(boom('Intentional Logout', 401));
  }

  async end(error: Error | undefined): Promise<void> {
    this.ended.push(error);
    await this.close(error);
  }
}

/** A socket factory that hands out fake sockets and lets a test wait for the next one. */
export function fakeSocketFactory(): { factory: SocketFactory; sockets: FakeSocket[]; socket(n: number): Promise<FakeSocket> } {
  const sockets: FakeSocket[] = [];
  const waiters: Array<{ n: number; resolve(s: FakeSocket): void }> = [];
  const factory: SocketFactory = (config) => {
    const socket = new FakeSocket(config);
    sockets.push(socket);
    for (const w of waiters.filter((w) => w.n === sockets.length)) w.resolve(socket);
    return socket;
  };
  return {
    factory,
    sockets,
    /** The n-th socket made (1-based), once it exists. */
    socket: (n) => {
      const made = sockets[n - 1];
      return made ? Promise.resolve(made) : new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** The creds of a linked account (`15551234567`, device 7, named Ann), as Baileys keeps them. */
export function linkedCreds(over: Partial<AuthenticationCreds> = {}): AuthenticationCreds {
  return {
    ...initAuthCreds(),
    me: { id: '15551234567:7@s.whatsapp.net', name: 'Ann' },
    account: { details: Buffer.from([1]), accountSignatureKey: Buffer.alloc(32), accountSignature: Buffer.alloc(64), deviceSignature: Buffer.alloc(64) },
    accountSyncCounter: 3,
    ...over,
  };
}

type Event = EngineSignal | EngineData;

/** A baileys engine over fake sockets and a virtual clock; `attempt()` starts a connection and answers its socket. */
export function engineHarness(over: Partial<EngineContext> = {}) {
  const ctx = testContext(over);
  const sockets = fakeSocketFactory();
  const engine = new BaileysEngine(ctx, { socketFactory: sockets.factory });
  const events: Event[] = [];
  const h = { onEvent: (_e: Event): void => undefined };
  let made = 0;
  const attempt = async (): Promise<{ conn: EngineConnection; sock: FakeSocket }> => {
    const conn = engine.connect((e) => {
      events.push(e);
      h.onEvent(e);
    });
    made += 1;
    return { conn, sock: await sockets.socket(made) };
  };
  return Object.assign(h, {
    ctx,
    engine,
    events,
    attempt,
    clock: ctx.clock,
    store: ctx.credentials,
    /** The events so far, as `launching`, `qr`, `close:<reason>`, ... */
    signals: (): string[] => events.map((e) => (e.type === 'close' ? `close:${e.reason}` : e.type)),
    /** Stores a linked account's creds, as a paired channel has them. */
    link: (creds: Partial<AuthenticationCreds> = {}): void => {
      ctx.credentials.data.set(CREDS_KEY, encode(linkedCreds(creds)));
    },
  });
}

/** Waits, turn by turn of the event loop, until `predicate` holds (a condition, not a sleep). */
export async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (predicate()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`condition not met: ${predicate.toString()}`);
}
