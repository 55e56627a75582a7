import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../channel/clock.js';
import { createHash } from 'node:crypto';
import { MEDIA_KINDS } from '@wagate/protocol';
import type { EngineData, OutgoingContent, OutgoingText } from '../engine.js';

/** A message the simulated network accepted. */
export interface SandboxSent {
  id: string;
  chatId: string;
  /** The text, a caption, or '' for content without text. */
  body: string;
  at: number; // unix ms
  /** For an edit: the id of the message whose text it replaces. */
  edit?: string;
  /** `text`, a media type, `location`, `contacts`, `link_preview`, `reaction`, `pin`, `star`, `read`, `revoke`, `delete_for_me`. */
  type: string;
  /** What a media send carried, so a test can check the bytes that left. */
  media?: { mime_type: string; file_size: number; sha256: string; file_name?: string };
  /** A reaction's or pin's target message. */
  target?: string;
  /** A reaction's emoji ('' removed it). */
  emoji?: string;
  /** Sent as a forward. */
  forwarded?: boolean;
}

/** The sends a recipient's phone acknowledges: messages of their own. */
const RECEIPTED = new Set<string>(['text', ...MEDIA_KINDS, 'location', 'contacts', 'link_preview']);

/** The sandbox's record of a content send: the type, the file's digest, the text it shows. */
export function describeContent(c: OutgoingContent): Omit<SandboxSent, 'id' | 'chatId' | 'at'> {
  switch (c.kind) {
    case 'media': {
      const media = { mime_type: c.file.mimeType, file_size: c.file.bytes.length, sha256: createHash('sha256').update(c.file.bytes).digest('hex') };
      return { type: c.type, body: c.caption ?? '', media: c.file.fileName ? { ...media, file_name: c.file.fileName } : media };
    }
    case 'location':
      return { type: 'location', body: `${c.latitude},${c.longitude}` };
    case 'contacts':
      return { type: 'contacts', body: c.contacts.map((x) => x.name).join(', ') };
    case 'link_preview':
      return { type: 'link_preview', body: c.body };
    case 'reaction':
      return { type: 'reaction', body: '', target: c.target.id, emoji: c.emoji };
    case 'pin':
      return { type: c.pin ? 'pin' : 'unpin', body: '', target: c.target.id };
    case 'star':
      return { type: c.star ? 'star' : 'unstar', body: '', target: c.target.id };
    case 'read':
      return { type: 'read', body: '', target: c.target.id };
    case 'delete':
      return { type: c.target.fromMe ? 'revoke' : 'delete_for_me', body: '', target: c.target.id };
  }
}

export interface ReceiptDelays {
  /** Delay before the simulated recipient's phone acknowledges delivery; null: never. */
  deliveredMs: number | null;
  /** Delay before the recipient reads it; null: never. */
  readMs: number | null;
}

/** A message id in Whapi's shape: `<16>-<8>` characters. */
export function newMessageId(): string {
  const raw = randomBytes(18).toString('base64url').replace(/[-_]/g, 'x');
  return `${raw.slice(0, 16)}-${raw.slice(16, 24)}`;
}

/**
 * The sandbox's side of messaging: what the simulated network accepted (each send recorded
 * once, so tests can count), refusals on demand, and automatic receipts.
 */
export class SandboxMessaging {
  readonly sent: SandboxSent[] = [];
  /** How long the simulated server takes to acknowledge a send (0: at once). */
  ackDelayMs = 0;
  private refusals = 0;
  private receiptTimers = new Set<TimerHandle>();

  constructor(
    private readonly clock: Clock,
    public receipts: ReceiptDelays,
  ) {}

  /** The next `count` sends are refused by the simulated network. */
  refuse(count: number): void {
    this.refusals = count;
  }

  /** Takes one refusal if any is pending. */
  takeRefusal(): boolean {
    if (this.refusals <= 0) return false;
    this.refusals -= 1;
    return true;
  }

  /**
   * Accepts a message and schedules its receipts on `emit`. A re-send under an id the network
   * already carried is acknowledged again but kept once, as the recipient's phone keeps one copy.
   */
  accept(message: OutgoingText | OutgoingContent, emit: (data: EngineData) => void): { id: string; timestamp: number } {
    const at = this.clock.now();
    const id = message.id ?? newMessageId();
    const earlier = this.sent.find((m) => m.id === id);
    if (earlier) return { id, timestamp: Math.floor(earlier.at / 1000) };
    const content = 'kind' in message ? describeContent(message) : { type: 'text', body: message.body, ...(message.edit && { edit: message.edit }) };
    this.sent.push({ id, chatId: message.chatId, at, ...content, ...(message.forwarded && { forwarded: true }) });
    // Edits, reactions, pins and stars are about a message already delivered: no receipts of their own.
    if ('edit' in content || !RECEIPTED.has(content.type)) return { id, timestamp: Math.floor(at / 1000) };
    const { deliveredMs, readMs } = this.receipts;
    if (deliveredMs !== null) this.later(deliveredMs, () => emit(this.receipt(id, message.chatId, 'delivered')));
    if (readMs !== null) this.later(Math.max(readMs, deliveredMs ?? 0), () => emit(this.receipt(id, message.chatId, 'read')));
    return { id, timestamp: Math.floor(at / 1000) };
  }

  /** A receipt for a sent message, now. */
  receipt(id: string, chatId: string, status: 'sent' | 'delivered' | 'read' | 'played'): EngineData {
    return { type: 'receipt', id, chatId, status, timestamp: Math.floor(this.clock.now() / 1000) };
  }

  dispose(): void {
    for (const t of this.receiptTimers) this.clock.clearTimeout(t);
    this.receiptTimers.clear();
  }

  private later(ms: number, fn: () => void): void {
    const timer = this.clock.setTimeout(() => {
      this.receiptTimers.delete(timer);
      fn();
    }, ms);
    this.receiptTimers.add(timer);
  }
}
