import { randomBytes } from 'node:crypto';
import { resolvedWithin, type Clock, type TimerHandle } from '../../channel/clock.js';
import type { EngineSignal } from '../../channel/lifecycle.js';
import { errors, normaliseChatId, type DisconnectClass, type Profile, type User } from '@wagate/protocol';
import {
  EngineClosedError,
  EngineSendError,
  type CredentialStore,
  type Engine,
  type EngineConnection,
  type EngineContext,
  type EngineData,
  type EngineEmit,
  type InboundContent,
  type OutgoingContent,
  type OutgoingText,
  type SentText,
} from '../engine.js';
import { ConnectionLostError, LivenessWatch, type LivenessHooks } from '../liveness.js';
import { newMessageId, SandboxMessaging } from './messaging.js';
import { sandboxTimings, type SandboxTimings } from './options.js';

/** How long an inbound message from the simulated phone waits for the gateway to record it. */
const INBOUND_RECORD_WAIT_MS = 5000;

const CREDS_KEY = 'sandbox.account';

type Phase = 'init' | 'launch' | 'qr' | 'open' | 'closed';

/**
 * A simulated phone and network. It drives the same lifecycle as the Baileys engine, and its
 * controls produce every status and fault on demand (SPEC §8).
 */
export class SandboxEngine implements Engine {
  readonly kind = 'sandbox' as const;
  readonly timings: SandboxTimings;
  private live: SandboxConnection | null = null;
  private stuckNext: 'INIT' | 'LAUNCH' | null = null;
  /** While the simulated network is down, connections wait in LAUNCH. */
  private downUntil = 0;
  private flapTimers: TimerHandle[] = [];
  readonly messaging: SandboxMessaging;
  private heldData: EngineData[] = [];

  constructor(private readonly ctx: EngineContext) {
    this.timings = sandboxTimings(ctx.options);
    this.messaging = new SandboxMessaging(ctx.clock, { deliveredMs: this.timings.receiptDeliveredMs, readMs: this.timings.receiptReadMs });
  }

  get clock(): Clock {
    return this.ctx.clock;
  }

  get credentials(): CredentialStore {
    return this.ctx.credentials;
  }

  connect(emit: EngineEmit): EngineConnection {
    const stuck = this.stuckNext;
    this.stuckNext = null;
    this.live = new SandboxConnection(this, emit, stuck);
    return this.live;
  }

  async dispose(): Promise<void> {
    this.stopFlapping();
    this.messaging.dispose();
    await this.live?.close();
  }

  /** Hands data to the open connection; while offline it waits for the next one (as WhatsApp holds receipts). */
  deliverData(data: EngineData): void {
    if (this.live?.phase === 'open') this.live.data(data);
    else this.heldData.push(data);
  }

  /** Data held while no connection was open, taken by a connection that opens. */
  takeHeldData(): EngineData[] {
    return this.heldData.splice(0);
  }

  /**
   * A text message arrives from `from` (a phone number). Like WhatsApp's server, the simulated
   * network keeps it until the gateway has recorded it, waiting up to `waitMs` for that.
   */
  async inbound(from: string, body: string, fromName?: string, waitMs = INBOUND_RECORD_WAIT_MS, content?: InboundContent): Promise<{ id: string; recorded: boolean }> {
    const conn = this.requirePhase('open', 'the channel is not connected');
    const id = newMessageId();
    const timestamp = Math.floor(this.ctx.clock.now() / 1000);
    const message = { id, chatId: normaliseChatId(from), from, fromName, fromMe: false, body, timestamp, ...(content && { content }) };
    const recorded = Promise.resolve(conn.data({ type: 'message', offline: false, message }));
    return { id, recorded: await resolvedWithin(this.ctx.clock, recorded.then(() => true), waitMs, false) };
  }

  /** The recipient's phone reports `status` for a sent message. */
  receipt(messageId: string, status: 'delivered' | 'read' | 'played'): void {
    const conn = this.requirePhase('open', 'the channel is not connected');
    const sent = this.messaging.sent.find((m) => m.id === messageId);
    if (!sent) throw errors.notFound(`the sandbox network never carried message ${messageId}`);
    conn.data(this.messaging.receipt(messageId, sent.chatId, status));
  }

  /** The milliseconds left until the simulated network is back. */
  networkDownFor(): number {
    return Math.max(0, this.downUntil - this.ctx.clock.now());
  }

  /** The phone scans the current QR or confirms the pairing code: the account is linked. */
  async scan(user?: Partial<User>): Promise<User> {
    const conn = this.requirePhase('qr', 'there is no QR code to scan');
    const linked: User = { id: user?.id ?? randomPhone(), name: user?.name ?? 'Sandbox User' };
    await this.ctx.credentials.set({ [CREDS_KEY]: JSON.stringify(linked) });
    conn.open(linked);
    return linked;
  }

  /** A transient drop; the network stays down for `durationMs`, so the blip lasts about that long. */
  blip(durationMs: number): void {
    const conn = this.requirePhase('open', 'the channel is not connected');
    this.downUntil = this.ctx.clock.now() + durationMs;
    conn.drop('transient', 'sandbox blip: connection lost');
  }

  /** `times` blips, one every `intervalMs`, each lasting `durationMs`. */
  flap(times: number, intervalMs: number, durationMs: number): void {
    this.requirePhase('open', 'the channel is not connected');
    this.stopFlapping();
    for (let i = 0; i < times; i++) {
      this.flapTimers.push(
        this.ctx.clock.setTimeout(() => {
          if (this.live?.phase !== 'open') return;
          this.downUntil = this.ctx.clock.now() + durationMs;
          this.live.drop('transient', `sandbox flap ${i + 1} of ${times}`);
        }, i * intervalMs),
      );
    }
  }

  /** The phone removes this device: logged out. */
  async unlink(): Promise<void> {
    const conn = this.requirePhase('open', 'the channel has no linked account');
    await this.ctx.credentials.set({ [CREDS_KEY]: null });
    conn.drop('logged_out', 'sandbox unlink: the phone removed this device');
  }

  /** The network stops carrying anything without closing: no acks, no pings answered (SPEC §8). */
  silence(): void {
    this.requirePhase('open', 'the channel is not connected').silent = true;
  }

  /** The initial sync with the phone fails. */
  syncError(): void {
    const conn = this.requirePhase('open', 'the channel is not connected');
    conn.signal({ type: 'sync_error', detail: 'sandbox: history sync with the phone failed' });
  }

  /** The next start hangs in `phase`, so the watchdogs must act. */
  stick(phase: 'INIT' | 'LAUNCH'): void {
    this.stuckNext = phase;
  }

  /** A disconnect of the given class. */
  fail(reason: DisconnectClass): void {
    const conn = this.live;
    if (!conn || conn.phase === 'closed') throw errors.conflict('channel is not running', 'start the channel first');
    conn.drop(reason, `sandbox fail: ${reason}`);
  }

  async savedAccount(): Promise<User | null> {
    const saved = await this.ctx.credentials.get([CREDS_KEY]);
    const raw = saved[CREDS_KEY];
    return raw ? (JSON.parse(raw) as User) : null;
  }

  private stopFlapping(): void {
    for (const t of this.flapTimers) this.ctx.clock.clearTimeout(t);
    this.flapTimers = [];
  }

  private requirePhase(phase: Phase, details: string): SandboxConnection {
    const conn = this.live;
    if (!conn || conn.phase !== phase) throw errors.conflict(details, `connection phase: ${conn?.phase ?? 'none'}`);
    return conn;
  }
}

/** One simulated connection attempt: INIT, LAUNCH, then QR rounds or an open session. */
class SandboxConnection implements EngineConnection, LivenessHooks {
  phase: Phase = 'init';
  private timer: TimerHandle | null = null;
  private qrCount = 0;
  private pairingCode: string | null = null;
  private user: User | null = null;
  /** The simulated network carries nothing, in either direction, until this connection ends. */
  silent = false;
  private liveness: LivenessWatch | null = null;

  constructor(
    private readonly engine: SandboxEngine,
    private readonly emit: EngineEmit,
    private readonly stuck: 'INIT' | 'LAUNCH' | null,
  ) {
    if (stuck !== 'INIT') this.after(engine.timings.initMs, () => this.launch());
  }

  private after(ms: number, fn: () => void): void {
    if (this.timer) this.engine.clock.clearTimeout(this.timer);
    this.timer = this.engine.clock.setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  signal(signal: EngineSignal): void {
    if (this.phase !== 'closed') this.emit(signal);
  }

  /** Hands data to the gateway; settles once the gateway has recorded it. */
  data(data: EngineData): Promise<void> | void {
    if (this.phase === 'open') return this.emit(data);
  }

  /**
   * Sends under the liveness watch, as the Baileys engine does: on a silent network nothing leaves
   * and no ack comes, so the watch probes and declares the connection lost; a late ack (`ack_delay`)
   * answers `pending`, then a `sent` receipt.
   */
  async sendText(message: OutgoingText): Promise<SentText> {
    return this.send(message);
  }

  /** Media, locations, contacts, reactions: the same path as text. */
  async sendContent(content: OutgoingContent): Promise<SentText> {
    return this.send(content);
  }

  private async send(message: OutgoingText | OutgoingContent): Promise<SentText> {
    const liveness = this.liveness;
    if (this.phase !== 'open' || !liveness) throw new EngineClosedError(undefined, message.id);
    const { messaging, clock } = this.engine;
    const id = message.id ?? newMessageId();
    if (!this.silent && messaging.takeRefusal()) throw new EngineSendError('sandbox: the network refused the message');
    const accepted = this.silent ? null : messaging.accept({ ...message, id }, (d) => this.engine.deliverData(d));
    const delay = messaging.ackDelayMs;
    const acked = this.silent ? new Promise<void>(() => undefined) : new Promise<void>((r) => (delay > 0 ? clock.setTimeout(r, delay) : r()));
    const answer = await liveness.watch(acked).catch((err: unknown) => {
      throw err instanceof ConnectionLostError ? new EngineClosedError(err.message, id) : err;
    });
    if (!accepted) throw new EngineClosedError(undefined, id);
    if (answer.kind === 'answered') return { ...accepted, status: 'sent' };
    void acked.then(() => this.engine.deliverData(messaging.receipt(id, message.chatId, 'sent')));
    return { ...accepted, status: 'pending' };
  }

  /**
   * The simulated keep-alive. The watch probes after a keep-alive interval (plus the ack window)
   * without an answer, and the simulated server answers each probe at once unless the network went
   * silent: the probe is the regular ping, so a channel at rest holds one timer, the watch's own.
   */
  private watchLiveness(): void {
    this.liveness = new LivenessWatch(this.engine.clock, this.engine.timings.liveness, this);
  }

  /** LivenessHooks: a ping, answered on the next tick unless the network is silent. */
  probe(): void {
    this.engine.clock.setTimeout(() => {
      if (!this.silent) this.liveness?.received();
    }, 0);
  }

  /** LivenessHooks: the probe went unanswered. */
  lost(detail: string): void {
    this.drop('transient', detail);
  }

  private launch(): void {
    this.phase = 'launch';
    this.signal({ type: 'launching' });
    if (this.stuck === 'LAUNCH') return;
    const wait = Math.max(this.engine.timings.launchMs, this.engine.networkDownFor());
    this.after(wait, () => void this.handshake());
  }

  private async handshake(): Promise<void> {
    let account: User | null;
    try {
      account = await this.engine.savedAccount();
    } catch (err) {
      // A store that cannot answer is a failed connection attempt, retried by the runtime's backoff.
      if (this.phase !== 'closed') this.drop('transient', `sandbox: the stored credentials could not be read (${(err as Error).message})`);
      return;
    }
    if (this.phase === 'closed') return;
    if (account) this.open(account);
    else this.nextQr();
  }

  private nextQr(): void {
    const { qrFirstMs, qrNextMs, qrPerRound } = this.engine.timings;
    if (this.qrCount >= qrPerRound) {
      this.drop('qr_exhausted', 'QR refs attempts ended');
      return;
    }
    const ttlMs = this.qrCount === 0 ? qrFirstMs : qrNextMs;
    this.qrCount += 1;
    this.phase = 'qr';
    const ref = randomBytes(12).toString('base64url');
    this.signal({ type: 'qr', text: `2@${ref},sandbox,${this.qrCount}`, ttlMs });
    this.after(ttlMs, () => this.nextQr());
  }

  open(user: User): void {
    // Cleared and dropped: a cleared Timeout kept here would be held for as long as the channel is AUTH.
    if (this.timer) this.engine.clock.clearTimeout(this.timer);
    this.timer = null;
    this.phase = 'open';
    this.user = user;
    this.watchLiveness();
    this.signal({ type: 'open', user });
    for (const data of this.engine.takeHeldData()) this.data(data);
  }

  drop(reason: DisconnectClass, detail: string): void {
    this.signal({ type: 'close', reason, detail });
    void this.close();
  }

  async close(): Promise<void> {
    if (this.timer) this.engine.clock.clearTimeout(this.timer);
    this.phase = 'closed';
    this.liveness?.stop('the connection ended before the network answered');
  }

  async logout(): Promise<void> {
    await this.close();
  }

  async requestPairingCode(_phone: string): Promise<string> {
    if (this.phase !== 'qr') throw errors.conflict('channel is not pairing', `connection phase: ${this.phase}`);
    const letters = randomBytes(8).toString('hex').toUpperCase().slice(0, 8);
    this.pairingCode = `${letters.slice(0, 4)}-${letters.slice(4)}`;
    return this.pairingCode;
  }

  async profile(): Promise<Profile> {
    return { name: this.user?.name ?? '', about: 'Available', icon: '' };
  }
}

function randomPhone(): string {
  return `1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
}
