import { generateMessageIDV2, toNumber, type AnyMessageContent, type AuthenticationCreds, type BaileysEventMap, type BinaryNode, type WAMessageKey } from 'baileys';
import type { Clock } from '../../channel/clock.js';
import type { EngineSignal } from '../../channel/lifecycle.js';
import { ApiError, errors, type Profile } from '@wagate/protocol';
import { EngineClosedError, EngineSendError, type EngineContext, type EngineConnection, type EngineData, type EngineEmit, type OutgoingContent, type OutgoingText, type SentText } from '../engine.js';
import { baileysContent, FORWARDED, keyOf, mentionJid } from './content.js';
import { ConnectionLostError, LivenessWatch } from '../liveness.js';
import { loadAuth, type BaileysLogger, type ChannelAuth } from './auth-state.js';
import type { CredentialWriter } from './credential-writer.js';
import { classifyDisconnect, type Disconnect } from './disconnect.js';
import { messagesFromUpsert, phoneDigits, receiptsFromUpdates, receiptsFromUserReceipts } from './inbound.js';
import type { MediaDownload } from './media.js';
import type { BaileysSettings } from './options.js';
import type { RecentMessages } from './recent-messages.js';
import { enableTcpKeepAlive, pingNode, socketConfig, type BaileysEvents, type SocketFactory, type SocketLike } from './socket.js';
import { SyncWatch } from './sync-watch.js';

/** A QR's life, as WhatsApp Web (and Baileys' qrTimeout) issues them: the first 60 s, later ones 20 s. */
export const QR_FIRST_TTL_MS = 60_000;
export const QR_NEXT_TTL_MS = 20_000;
/** What a channel token reads of a connection that failed at its proxy. */
export const PROXY_UNREACHABLE = 'proxy unreachable';
/** How long a logout or a profile lookup may take before the adapter stops waiting. */
const REQUEST_BOUND_MS = 5_000;
/** Why a request that waited for its answer failed when the connection ended under it. */
const ENDED_UNANSWERED = 'the connection ended before WhatsApp answered';

export interface ConnectionDeps {
  ctx: EngineContext;
  settings: BaileysSettings;
  writer: CredentialWriter;
  factory: SocketFactory;
  logger: BaileysLogger;
  recent: RecentMessages;
  /** Fetches an inbound message's encrypted file (through the gateway's SSRF guard). */
  download: MediaDownload;
}

type Phase = 'starting' | 'connecting' | 'qr' | 'open' | 'ended';

/**
 * One connection attempt over a Baileys socket: it loads the credentials, opens the socket, and
 * turns Baileys' events into lifecycle signals and message data. After it ends (a close from
 * Baileys, or `close()`/`logout()`), it emits nothing more and writes no more credentials.
 */
export class BaileysConnection implements EngineConnection {
  private phase: Phase = 'starting';
  private sock: SocketLike | null = null;
  private auth: ChannelAuth | null = null;
  private unsubscribe: (() => void) | null = null;
  private qrCount = 0;
  /** The attempt dials through a proxy. */
  private proxied = false;
  private readonly sync: SyncWatch;
  /** Watches the open connection for answers (docs/baileys.md, "A silent connection"). */
  private liveness: LivenessWatch | null = null;
  /** Sent messages waiting for WhatsApp's server ack, by message id. */
  private readonly acks = new Map<string, (ack: BinaryNode) => void>();
  private readonly onFrame = (): void => this.liveness?.received();
  private readonly onAck = (ack: BinaryNode): void => {
    const id = ack.attrs.id;
    const waiting = id ? this.acks.get(id) : undefined;
    if (!id || !waiting) return;
    this.acks.delete(id);
    waiting(ack);
  };
  private readonly started: Promise<void>;

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly emit: EngineEmit,
  ) {
    this.sync = new SyncWatch(deps.ctx.clock, deps.settings.syncTimeoutMs, (failure) => {
      if (failure.kind === 'history') this.background(this.auth?.setSyncFailed(true));
      this.signal({ type: 'sync_error', detail: failure.detail });
    });
    this.started = this.start();
  }

  private get clock(): Clock {
    return this.deps.ctx.clock;
  }

  private async start(): Promise<void> {
    const { settings, writer, factory, logger, recent } = this.deps;
    try {
      const auth = await loadAuth(writer, { logger });
      if (this.phase === 'ended') return;
      this.auth = auth;
      const proxy = await this.dialledProxy();
      if (proxy === null || (this.phase as Phase) === 'ended') return;
      const config = socketConfig({
        auth: auth.state,
        wsUrl: settings.wsUrl,
        proxy,
        logger,
        getMessage: async (key) => recent.content(key),
        keepAliveMs: settings.liveness.keepAliveMs,
        mediaCa: settings.mediaCa,
      });
      const sock = factory(config);
      this.sock = sock;
      const stopEvents = sock.ev.process((events) => this.onEvents(events));
      sock.ws.on('frame', this.onFrame);
      sock.ws.on('CB:ack,class:message', this.onAck);
      this.unsubscribe = () => {
        stopEvents();
        sock.ws.off('frame', this.onFrame);
        sock.ws.off('CB:ack,class:message', this.onAck);
      };
    } catch (err) {
      await this.finish({ reason: 'transient', detail: `the connection could not start: ${messageOf(err)}` });
    }
  }

  /** The proxy to dial, checked; null (and the attempt ended) when it is refused. */
  private async dialledProxy(): Promise<string | null> {
    const { ctx } = this.deps;
    try {
      const proxy = ctx.dialProxy ? await ctx.dialProxy() : ctx.proxy();
      this.proxied = proxy !== '';
      return proxy;
    } catch (err) {
      this.proxied = true;
      await this.finish({ reason: 'transient', detail: `proxy refused: ${messageOf(err)}` });
      return null;
    }
  }

  private onEvents(events: BaileysEvents): void {
    try {
      if (this.phase === 'ended') return;
      if (events['creds.update']) this.background(this.auth?.saveCreds());
      const update = events['connection.update'];
      if (update) this.onConnectionUpdate(update);
      if (events['messaging-history.set'] || events['messaging-history.status']) this.onHistory();
      const now = Math.floor(this.clock.now() / 1000);
      const upsert = events['messages.upsert'];
      if (upsert) this.onUpsert(upsert, now);
      if (events['messages.update']) this.data(receiptsFromUpdates(events['messages.update'], now));
      if (events['message-receipt.update']) this.data(receiptsFromUserReceipts(events['message-receipt.update'], now));
    } catch (err) {
      // Baileys awaits this handler in a listener of its own: a throw would be an unhandled rejection.
      this.deps.logger.error({ channelId: this.deps.ctx.channelId, err }, 'baileys event handling failed');
    }
  }

  /** New messages: each reported once (the memory also drops Baileys' copies of our own sends). */
  private onUpsert(upsert: BaileysEventMap['messages.upsert'], now: number): void {
    const { recent } = this.deps;
    const fresh = upsert.messages.filter((m) => !m.key.id || !recent.has(m.key.id));
    this.data(messagesFromUpsert({ ...upsert, messages: fresh }, this.ownPhone(), now, this.deps.download));
    for (const m of fresh) recent.remember(m);
  }

  private onConnectionUpdate(update: BaileysEventMap['connection.update']): void {
    if (update.connection === 'connecting' && this.phase === 'starting') {
      this.phase = 'connecting';
      this.signal({ type: 'launching' });
    }
    if (update.qr) {
      const ttlMs = this.qrCount === 0 ? QR_FIRST_TTL_MS : QR_NEXT_TTL_MS;
      this.qrCount += 1;
      this.phase = 'qr';
      this.signal({ type: 'qr', text: update.qr, ttlMs });
    }
    if (update.receivedPendingNotifications === true) this.sync.pendingReceived();
    if (update.connection === 'open') this.onOpen();
    if (update.connection === 'close') void this.finish(classifyDisconnect(update.lastDisconnect?.error));
  }

  private onOpen(): void {
    const me = this.sock?.user ?? this.auth?.state.creds.me;
    if (!me?.id) {
      void this.finish({ reason: 'transient', detail: 'WhatsApp opened the connection without naming the account' });
      void Promise.resolve(this.sock?.end(undefined)).catch(() => undefined);
      return;
    }
    this.phase = 'open';
    this.watchLiveness();
    this.signal({ type: 'open', user: { id: phoneDigits(me.id), name: me.name ?? me.notify ?? me.verifiedName ?? '' } });
    if (this.auth?.syncFailed) {
      this.sync.stop();
      this.signal({ type: 'sync_error', detail: 'the initial history sync with the phone never completed; logout and pair again' });
      return;
    }
    this.sync.opened(awaitsFirstHistory(this.auth?.state.creds));
  }

  /** From `open` on, a request left unanswered makes the adapter probe; an unanswered probe ends the connection. */
  private watchLiveness(): void {
    const sock = this.sock;
    if (!sock) return;
    enableTcpKeepAlive(sock.ws);
    this.liveness = new LivenessWatch(this.clock, this.deps.settings.liveness, {
      // The probe's answer (or any frame) reaches the watch through onFrame; its own outcome does not matter.
      probe: () => void sock.query(pingNode()).catch(() => undefined),
      lost: (detail) => {
        void this.finish({ reason: 'transient', detail });
        // On a dead network the WebSocket close handshake may hang: the close signal does not wait for it.
        void Promise.resolve(sock.end(new Error(detail))).catch(() => undefined);
      },
    });
  }

  private onHistory(): void {
    this.sync.historyReceived();
    if (this.auth?.syncFailed) this.background(this.auth.setSyncFailed(false));
  }

  /** Ends the attempt with a close signal, once every credential write it made is committed. */
  private async finish(disconnect: Disconnect): Promise<void> {
    if (this.phase === 'ended') return;
    // Through a proxy, a connection that never reached WhatsApp failed at the proxy: its error
    // (refused, timed out, a socks reply) would map the network behind it, so the channel reads
    // only "proxy unreachable" and the admin gets the rest.
    if (this.proxied && (this.phase === 'starting' || this.phase === 'connecting') && disconnect.reason === 'transient') {
      this.deps.ctx.onProxyError?.(disconnect.detail);
      disconnect = { reason: 'transient', detail: PROXY_UNREACHABLE };
    }
    this.stopEvents();
    await this.auth?.end().catch((err: unknown) => this.logWriteFailure(err));
    this.emit({ type: 'close', reason: disconnect.reason, detail: disconnect.detail });
  }

  private stopEvents(): void {
    this.phase = 'ended';
    this.sync.stop();
    this.liveness?.stop(ENDED_UNANSWERED);
    this.acks.clear();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private signal(signal: EngineSignal): void {
    if (this.phase !== 'ended') this.emit(signal);
  }

  private data(items: EngineData[]): void {
    for (const item of items) if (this.phase !== 'ended') this.emit(item);
  }

  private ownPhone(): string {
    const id = this.sock?.user?.id ?? this.auth?.state.creds.me?.id;
    return id ? phoneDigits(id) : '';
  }

  /** Runs a credential write without waiting for it; a failure is logged, never thrown. */
  private background(work: Promise<void> | undefined): void {
    work?.catch((err: unknown) => this.logWriteFailure(err));
  }

  private logWriteFailure(err: unknown): void {
    this.deps.logger.error({ channelId: this.deps.ctx.channelId, err }, 'baileys credential write failed');
  }

  async close(): Promise<void> {
    if (this.phase !== 'ended') this.stopEvents();
    // Stop this attempt's writes at once: the next attempt may already be loading the creds.
    const ending = this.auth?.end();
    await this.started;
    await Promise.resolve(this.sock?.end(undefined)).catch(() => undefined);
    await (ending ?? this.auth?.end())?.catch((err: unknown) => this.logWriteFailure(err));
  }

  async logout(): Promise<void> {
    const live = this.phase !== 'ended';
    if (live) this.stopEvents();
    const ending = this.auth?.end();
    await this.started;
    const sock = this.sock;
    if (live && sock) await bounded(this.clock, sock.logout(), undefined).catch(() => undefined);
    await Promise.resolve(sock?.end(undefined)).catch(() => undefined);
    await (ending ?? this.auth?.end())?.catch((err: unknown) => this.logWriteFailure(err));
  }

  async requestPairingCode(phone: string): Promise<string> {
    const sock = this.sock;
    if (this.phase !== 'qr' || !sock) throw errors.conflict('channel is not pairing', `connection phase: ${this.phase}`);
    try {
      return formatPairingCode(await sock.requestPairingCode(phone));
    } catch (err) {
      throw new ApiError(502, 'pairing code request failed', messageOf(err));
    }
  }

  async profile(): Promise<Profile> {
    const me = this.sock?.user;
    const name = me?.name ?? me?.notify ?? me?.verifiedName ?? '';
    const lookup = me?.id && this.sock?.profilePictureUrl ? this.sock.profilePictureUrl(`${phoneDigits(me.id)}@s.whatsapp.net`, 'image') : undefined;
    const icon = lookup ? await bounded(this.clock, this.answered(lookup), undefined).catch(() => undefined) : undefined;
    return { name, about: '', icon: icon ?? '' };
  }

  /** Sends a text (an edit replaces the text of a message this channel sent). */
  async sendText(m: OutgoingText): Promise<SentText> {
    // linkPreview null: no preview is fetched; left out, Baileys may build one.
    const content: { text: string; linkPreview?: null; mentions?: string[]; edit?: WAMessageKey; contextInfo?: typeof FORWARDED } = { text: m.body };
    if (m.forwarded) content.contextInfo = FORWARDED;
    if (!m.linkPreview) content.linkPreview = null;
    if (m.mentions?.length) content.mentions = m.mentions.map(mentionJid);
    if (m.edit) content.edit = keyOf({ chatId: m.chatId, id: m.edit, fromMe: true });
    return this.deliver({ ...m, content });
  }

  /**
   * Media (Baileys encrypts and uploads it), locations, contacts, reactions, pins, revokes of our
   * own messages; stars and deletes of others' messages are app state, a read is a receipt.
   */
  async sendContent(c: OutgoingContent): Promise<SentText> {
    if (c.kind === 'delete' && !c.target.fromMe) return this.sideEffect(c, 'delete', (sock) => sock.chatModify?.({ deleteForMe: { deleteMedia: true, key: keyOf(c.target), timestamp: c.target.timestamp ?? 0 } }, c.chatId));
    if (c.kind === 'star') return this.sideEffect(c, 'star', (sock) => sock.chatModify?.({ star: { messages: [{ id: c.target.id, fromMe: c.target.fromMe }], star: c.star } }, c.chatId));
    if (c.kind === 'read') return this.sideEffect(c, 'read receipt', (sock) => sock.readMessages?.([keyOf(c.target)]));
    return this.deliver({ chatId: c.chatId, quoted: c.quoted, id: c.id, content: baileysContent(c) });
  }

  /** A change that is not a message of its own: answers the target's id once Baileys made it. */
  private async sideEffect(c: { target: { id: string } }, what: string, run: (sock: SocketLike) => Promise<void> | undefined): Promise<SentText> {
    const sock = this.sock;
    if (this.phase !== 'open' || !sock) throw new EngineClosedError();
    const done = run(sock);
    if (!done) throw new EngineSendError(`this connection cannot send a ${what}`);
    try {
      await done;
    } catch (err) {
      throw new EngineSendError(`WhatsApp refused the ${what}: ${messageOf(err)}`);
    }
    return { id: c.target.id, timestamp: Math.floor(this.clock.now() / 1000), status: 'sent' };
  }

  /**
   * Sends and waits for WhatsApp's server ack under the liveness watch: `sent` once acked,
   * `pending` if the ack is late on a connection that answered the probe. When the connection is
   * lost meanwhile, EngineClosedError carries the id, so that a re-send reuses it.
   */
  private async deliver(m: { chatId: string; quoted?: string; id?: string; content: AnyMessageContent }): Promise<SentText> {
    const sock = this.sock;
    const liveness = this.liveness;
    if (this.phase !== 'open' || !sock || !liveness) throw new EngineClosedError(undefined, m.id);
    const content = m.content;
    // The id is chosen here, so the ack can be awaited before the stanza leaves, and a re-send keeps it.
    const id = m.id ?? generateMessageIDV2(sock.user?.id);
    const options = { messageId: id, ...(m.quoted ? { quoted: this.deps.recent.quoted(m.chatId, m.quoted) } : {}) };
    const acked = new Promise<BinaryNode>((resolve) => this.acks.set(id, resolve));
    const handed = sock.sendMessage(m.chatId, content, options).then((sent) => {
      if (sent) this.deps.recent.remember(sent);
      return sent;
    });
    const both = Promise.all([handed, acked]);
    let answer;
    try {
      answer = await liveness.watch(both);
    } catch (err) {
      this.acks.delete(id);
      if (err instanceof ConnectionLostError) throw new EngineClosedError(err.message, id);
      // Baileys checks the socket before it writes: "Connection Closed" (428) means nothing left.
      if ((err as { output?: { statusCode?: number } }).output?.statusCode === 428) throw new EngineClosedError(undefined, m.id);
      throw new EngineSendError(`WhatsApp refused the message: ${messageOf(err)}`);
    }
    const now = Math.floor(this.clock.now() / 1000);
    if (answer.kind === 'unconfirmed') {
      both.then(
        ([, ack]) => {
          if (!ack.attrs.error) this.data([{ type: 'receipt', id, chatId: m.chatId, status: 'sent', timestamp: Math.floor(this.clock.now() / 1000) }]);
        },
        () => undefined,
      );
      return { id, timestamp: now, status: 'pending' };
    }
    const [sent, ack] = answer.value;
    if (ack.attrs.error) throw new EngineSendError(`WhatsApp refused the message: error ${ack.attrs.error}`);
    return { id, timestamp: toNumber(sent?.messageTimestamp) || now, status: 'sent' };
  }

  /** A request's answer under the liveness watch; undefined when it did not come. */
  private async answered<T>(request: Promise<T>): Promise<T | undefined> {
    if (!this.liveness) return request;
    const answer = await this.liveness.watch(request);
    return answer.kind === 'answered' ? answer.value : undefined;
  }
}

/**
 * Whether the account has never seen a history sync: Baileys counts completed syncs
 * (`accountSyncCounter`) and records each history notification it processed, so an attempt
 * that reconnects in the middle of the first sync does not wait for history again.
 */
function awaitsFirstHistory(creds: AuthenticationCreds | undefined): boolean {
  return !!creds && (creds.accountSyncCounter ?? 0) === 0 && (creds.processedHistoryMessages?.length ?? 0) === 0;
}

/** `ABCD1234` → `ABCD-1234`, as WhatsApp shows a pairing code. */
export function formatPairingCode(code: string): string {
  const plain = code.replace(/-/g, '').toUpperCase();
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : plain;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `work`, or `fallback` once `REQUEST_BOUND_MS` passed on the channel's clock. */
function bounded<T>(clock: Clock, work: Promise<T>, fallback: T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => resolve(fallback), REQUEST_BOUND_MS);
    work.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err);
      },
    );
  });
}
