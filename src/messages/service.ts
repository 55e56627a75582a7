import { createHash } from 'node:crypto';
import { resolvedWithin, type Clock } from '../channel/clock.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import { EngineClosedError, EngineSendError, type EngineData, type InboundText, type SentText } from '../engines/engine.js';
import {
  ApiError,
  MESSAGE_STATUS,
  chatType,
  errors,
  normaliseChatId,
  type Message,
  type MessageStatus,
  type SendText,
  type SentMessage,
  type StatusUpdate,
} from '@wagate/protocol';
import type { IdempotencyRecord, Store, StoredMessage } from '../store/types.js';
import { channelSettings } from '../webhooks/outbox.js';
import { canSend, mayHold, refuseSend, sendHoldOutcome } from './gate.js';
import { textOutgoing, type Outgoing } from './outgoing.js';

/** How long an Idempotency-Key answers with its first answer. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60_000;
/** The 409 of a send whose key was taken by a send a crash interrupted. */
export const SEND_OUTCOME_UNKNOWN = 'send outcome unknown';
/** An idempotency record written before the send; if it survives a crash, the outcome is unknown. */
const IN_PROGRESS = 0;
/**
 * How long a send's answer waits for its message to be recorded when the store is failing; the
 * message is kept and recorded later, and the answer (200, it was sent) does not wait longer.
 */
const RECORD_WAIT_MS = 5000;

export interface MessageServiceDeps {
  store: Store;
  clock: Clock;
  /** Observes each send-hold wait (metrics). */
  onHold?: (outcome: 'sent' | 'expired', waitedMs: number) => void;
  /** Runs after the engine accepted a message and before it is recorded (crash tests). */
  afterEngineSend?: () => void;
}

export interface SendAnswer {
  status: number;
  body: SentMessage | Record<string, unknown>;
  replayed: boolean;
}

/** Sending and receiving text messages: send hold, idempotency, events, receipts (SPEC §6). */
export class MessageService {
  private inFlight = new Map<string, { hash: string; run: Promise<SendAnswer> }>();
  /** Channels that just changed nodes: until when (unix ms) their sends wait for the first AUTH here. */
  private moves = new Map<string, number>();

  constructor(private readonly deps: MessageServiceDeps) {}

  /**
   * A send for this channel was forwarded here after the channel changed nodes: until `until`,
   * sends wait for its first AUTH on this node (the hold left of the forwarder's `send_hold_ms`).
   */
  expectMove(channelId: string, until: number): void {
    this.moves.set(channelId, Math.max(until, this.moves.get(channelId) ?? 0));
  }

  /**
   * Throws the 401 of a send that could not go out even after the hold (as `send` would), so a
   * route refuses before it fetches or stores a file: the status gate comes first, as for text.
   */
  refuseUnsendable(channel: ChannelRuntime): void {
    const s = channel.state;
    if (canSend(s) || mayHold(s, this.movingUntil(channel.id, this.deps.clock.now()) > 0)) return;
    refuseSend(channel, 'refused', channelSettings(channel.record.settings).send_hold_ms);
  }

  /** Until when the channel's sends wait for its first AUTH after a move; 0 when it is not moving (an ended move is forgotten). */
  private movingUntil(channelId: string, now: number): number {
    const until = this.moves.get(channelId) ?? 0;
    if (until === 0 || until > now) return until;
    this.moves.delete(channelId);
    return 0;
  }

  /** `POST /messages/text`, at most once per Idempotency-Key within 24 h. */
  sendText(channel: ChannelRuntime, input: SendText, idempotencyKey?: string): Promise<SendAnswer> {
    return this.send(channel, textOutgoing(input, normaliseChatId(input.to)), idempotencyKey);
  }

  /** Any send (text, media, an edit...), at most once per Idempotency-Key within 24 h. */
  async send(channel: ChannelRuntime, input: Outgoing, idempotencyKey?: string): Promise<SendAnswer> {
    // Store work a send starts that may outlive its answer (recording a sent message while the
    // store fails, releasing a key): the key stays in flight until it is done.
    const work: Promise<unknown>[] = [];
    if (!idempotencyKey) return this.sendOnce(channel, input, null, null, work);
    const hash = requestHash(input.request);
    const slot = `${channel.id}\u0000${idempotencyKey}`;
    const running = this.inFlight.get(slot);
    if (running) {
      // The same key while its first request is still running: share that request's answer.
      if (running.hash !== hash) throw reusedKey();
      return { ...(await running.run), replayed: true };
    }
    const run = this.sendIdempotent(channel, input, idempotencyKey, hash, work);
    this.inFlight.set(slot, { hash, run });
    void run
      .catch(() => undefined)
      .then(() => Promise.allSettled(work))
      .finally(() => this.inFlight.delete(slot));
    return run;
  }

  private async sendIdempotent(channel: ChannelRuntime, input: Outgoing, key: string, hash: string, work: Promise<unknown>[]): Promise<SendAnswer> {
    const since = this.deps.clock.now() - IDEMPOTENCY_WINDOW_MS;
    const earlier = await this.deps.store.getIdempotency(channel.id, key, since);
    if (earlier) {
      if (earlier.requestHash !== hash) throw reusedKey();
      if (earlier.status === IN_PROGRESS) {
        throw errors.conflict(
          SEND_OUTCOME_UNKNOWN,
          'a send with this Idempotency-Key was interrupted by a gateway restart; check GET /messages/list before sending again with a new key',
        );
      }
      return { status: earlier.status, body: earlier.response, replayed: true };
    }
    const record: IdempotencyRecord = { key, requestHash: hash, status: IN_PROGRESS, response: {}, createdAt: this.deps.clock.now() };
    const mark = new InProgressMark(channel, record);
    try {
      return await this.sendOnce(channel, input, record, mark, work);
    } catch (err) {
      // Nothing was sent: release the key so a retry may send. A key whose message may have
      // gone out (the engine took it, or its fate is unknown) is never released.
      if (mark.releasable) work.push(mark.release().catch(() => undefined));
      throw err;
    }
  }

  /** One send: wait out a reconnect within the hold, send, and commit the message with its events. */
  private async sendOnce(
    channel: ChannelRuntime,
    input: Outgoing,
    record: IdempotencyRecord | null,
    mark: InProgressMark | null,
    work: Promise<unknown>[],
  ): Promise<SendAnswer> {
    const now = this.deps.clock.now();
    const movingUntil = this.movingUntil(channel.id, now);
    const moving = movingUntil > now;
    const holdMs = moving ? movingUntil - now : channelSettings(channel.record.settings).send_hold_ms;
    const deadline = now + holdMs;
    const chatId = input.chatId;
    // A message handed to a connection that was lost before WhatsApp acknowledged it: re-sent once
    // the channel is back, under the same id, so the recipient keeps one copy.
    let unacknowledged: string | undefined;
    for (;;) {
      await this.waitForSendable(channel, deadline, holdMs, unacknowledged, moving);
      const conn = channel.liveConnection;
      let sent: SentText;
      try {
        if (!conn) throw new EngineClosedError(undefined, unacknowledged);
        // Only now can a crash leave the outcome unknown: a restart during the hold sent nothing.
        await mark?.set();
        mark?.sending();
        sent = await input.send(conn, unacknowledged);
      } catch (err) {
        if (err instanceof EngineClosedError) unacknowledged = err.unacknowledged ?? unacknowledged;
        // The engine refused or nothing left: the message did not go (unless an earlier attempt
        // handed it to a connection that was lost before the ack: then it may have).
        if ((err instanceof EngineClosedError || err instanceof EngineSendError) && !unacknowledged) mark?.notSent();
        // Nothing left: the connection dropped under us; wait for the reconnect, within the hold,
        // with the key released meanwhile (a crash while waiting has sent nothing).
        if (err instanceof EngineClosedError) await mark?.release();
        if (err instanceof EngineClosedError && this.deps.clock.now() < deadline) {
          // The lifecycle may not have processed the close yet: wait for it rather than spin on a dead connection.
          await channel.waitFor((s) => !canSend(s) || channel.liveConnection !== conn, deadline - this.deps.clock.now());
          continue;
        }
        if (err instanceof EngineClosedError) throw errors.needAuthorization(`the connection dropped and did not come back within send_hold_ms (${holdMs} ms)${unsent(unacknowledged)}`);
        if (err instanceof EngineSendError) throw new ApiError(502, 'send failed', err.message);
        throw err;
      }
      this.deps.afterEngineSend?.();
      const { message, events, unreadDelta = 0 } = input.commit(sent, channel.state.user?.id);
      const body: SentMessage = { sent: true, message };
      const idempotency = record ? { ...record, status: 200, response: body as unknown as Record<string, unknown> } : undefined;
      // The message has gone: from here on it is never forgotten. The commit is retried until it
      // lands (in memory meanwhile); the answer waits for it a little, then says what was sent.
      const recorded = channel.commitSide(() => ({
        messages: [stored(message)],
        chats: [{ chatId, type: chatType(chatId), name: null, timestamp: message.timestamp, lastMessageId: message.id, unreadDelta }],
        idempotency,
        // A `pending` message gets its statuses.post when WhatsApp's ack arrives (a `sent` receipt).
        // A send that changes a stored message (an edit, a reaction) has no status of its own.
        events: [
          ...events,
          ...(sent.status === 'sent' && !input.updates ? [{ name: 'statuses.post' as const, payload: { statuses: [statusUpdate(message.id, chatId, 'sent', message.timestamp)] } }] : []),
        ],
      }));
      work.push(recorded.catch(() => undefined));
      await resolvedWithin(this.deps.clock, recorded, RECORD_WAIT_MS, undefined);
      return { status: 200, body, replayed: false };
    }
  }

  /** Resolves when the channel can send; throws 401 when it cannot within the hold. */
  private async waitForSendable(channel: ChannelRuntime, deadline: number, holdMs: number, unacknowledged?: string, moving = false): Promise<void> {
    const started = this.deps.clock.now();
    const outcome = await sendHoldOutcome(channel, deadline - started, moving);
    if (outcome === 'now') return;
    if (outcome !== 'refused') this.deps.onHold?.(outcome === 'held' ? 'sent' : 'expired', this.deps.clock.now() - started);
    if (outcome !== 'held') refuseSend(channel, outcome, holdMs, unsent(unacknowledged));
  }

  /** Forgets Idempotency-Keys older than the 24-hour window; answers how many. */
  pruneIdempotency(): Promise<number> {
    return this.deps.store.pruneIdempotency(this.deps.clock.now() - IDEMPOTENCY_WINDOW_MS);
  }

  /** Messages and receipts from a channel's live connection. */
  async onData(channel: ChannelRuntime, data: EngineData): Promise<void> {
    if (data.type === 'message') await this.onInbound(channel, data.message);
    else await this.onReceipt(channel, data.id, data.chatId, data.status, data.timestamp);
  }

  private async onInbound(channel: ChannelRuntime, m: InboundText): Promise<void> {
    await channel.commitSide(async () => {
      // The same message can arrive twice (live, then again in an offline catch-up).
      if (await this.deps.store.getMessage(channel.id, m.id)) return null;
      // Media, locations and contacts come with their fields prepared (media/inbound.ts).
      const { type, ...content } = (m.fields ?? { type: 'text', text: { body: m.body } }) as Partial<Message> & Pick<Message, 'type'>;
      const message: Message = {
        id: m.id,
        type,
        chat_id: m.chatId,
        from: m.from,
        from_me: m.fromMe,
        source: m.fromMe ? 'mobile' : 'web',
        timestamp: m.timestamp,
        status: m.fromMe ? 'sent' : 'delivered',
        ...content,
      };
      if (m.fromName) message.from_name = m.fromName;
      return {
        messages: [stored(message)],
        chats: [{ chatId: m.chatId, type: chatType(m.chatId), name: m.fromName ?? null, timestamp: m.timestamp, lastMessageId: m.id, unreadDelta: m.fromMe ? 0 : 1 }],
        events: [{ name: 'messages.post', payload: { messages: [message] } }],
      };
    });
  }

  private async onReceipt(channel: ChannelRuntime, id: string, chatId: string, status: MessageStatus, timestamp: number): Promise<void> {
    await channel.commitSide(async () => {
      const existing = await this.deps.store.getMessage(channel.id, id);
      if (!existing) return null;
      const message = existing.message as Message;
      // Receipts can arrive out of order; a status only moves forward.
      const current = (message.status ?? 'sent') as MessageStatus;
      if (MESSAGE_STATUS[status] <= MESSAGE_STATUS[current]) return null;
      const updated: Message = { ...message, status };
      return {
        messages: [stored(updated)],
        events: [{ name: 'statuses.post', payload: { statuses: [statusUpdate(id, chatId, status, timestamp)] } }],
      };
    });
  }

}

function stored(message: Message): StoredMessage {
  return { id: message.id, chatId: message.chat_id, fromMe: message.from_me, timestamp: message.timestamp, message: message as unknown as Record<string, unknown> };
}

/** Whapi's `Status` for a message. */
export function statusUpdate(id: string, chatId: string, status: MessageStatus, timestamp: number): StatusUpdate {
  return { id, code: MESSAGE_STATUS[status], status, recipient_id: chatId, timestamp: String(timestamp) };
}

/**
 * The idempotency record of a send whose message may be leaving: set just before the engine
 * sends, released whenever nothing was sent. A set mark that survives a crash means "unknown".
 */
class InProgressMark {
  private held = false;
  /** Whether the engine may have the message: from the send call until it says it refused. */
  private maybeSent = false;

  constructor(
    private readonly channel: ChannelRuntime,
    private readonly record: IdempotencyRecord,
  ) {}

  /** Writes the mark; fails at once (nothing sent) while the channel's store is failing. */
  async set(): Promise<void> {
    if (this.held) return;
    this.held = true;
    await this.channel.commitSide(() => ({ idempotency: this.record }), { untilDurable: false });
  }

  /** The engine is being handed the message. */
  sending(): void {
    this.maybeSent = true;
  }

  /** The engine answered that the message did not go. */
  notSent(): void {
    this.maybeSent = false;
  }

  /** True unless the message may have gone out: only then may the key be freed. */
  get releasable(): boolean {
    return !this.maybeSent;
  }

  /** An expired record reads as absent, so the key is free again. */
  async release(): Promise<void> {
    if (!this.held || this.maybeSent) return;
    this.held = false;
    await this.channel.commitSide(() => ({ idempotency: { ...this.record, createdAt: 0 } }));
  }
}

/** What a failed send says about a message that was handed over but never acknowledged. */
function unsent(unacknowledged: string | undefined): string {
  return unacknowledged ? `; message ${unacknowledged} was handed to a connection that was lost before WhatsApp acknowledged it, and was not sent again` : '';
}

function reusedKey(): ApiError {
  return errors.conflict('Idempotency-Key reused', 'this key was used for a different request in the last 24 hours');
}

/** A stable hash of a send request, so a reused key with another body is told apart. */
function requestHash(input: unknown): string {
  const record = input as Record<string, unknown>;
  const canonical = JSON.stringify(Object.keys(record).sort().map((k) => [k, record[k]]));
  return createHash('sha256').update(canonical).digest('hex');
}
