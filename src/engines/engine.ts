import type { Clock } from '../channel/clock.js';
import type { EngineSignal } from '../channel/lifecycle.js';
import type { MediaKind, Profile } from '@wagate/protocol';
import type { EngineKind } from '../store/types.js';

/** A channel's engine credentials: an opaque key-value map kept in the store. */
export interface CredentialStore {
  get(keys: string[]): Promise<Record<string, string>>;
  /** Sets (string) or deletes (null) keys atomically. */
  set(entries: Record<string, string | null>): Promise<void>;
  wipe(): Promise<void>;
}

export interface EngineContext {
  channelId: string;
  clock: Clock;
  credentials: CredentialStore;
  /** Options given at channel creation (engine-specific, already validated). */
  options: Record<string, unknown>;
  /** The proxy the next connection uses as it stands now (the setting, or for `auto` its pool proxy; empty for none). */
  proxy(): string;
  /**
   * The proxy to dial now, checked against the SSRF rules, with its host replaced by the checked
   * address ('' for none). Throws when the proxy is refused. Absent: dial `proxy()` as it is.
   */
  dialProxy?(): Promise<string>;
  /** A connection through the proxy failed; the real error goes to the admin, never to the channel. */
  onProxyError?(detail: string): void;
}

/** A text message the engine saw arrive (or sent from the phone itself, `fromMe`). */
export interface InboundText {
  id: string;
  chatId: string;
  /** The sender's phone number (digits). */
  from: string;
  fromName?: string;
  fromMe: boolean;
  /** The text, a caption, or '' for content without text. */
  body: string;
  /** unix seconds */
  timestamp: number;
  /** Anything but plain text, as the engine saw it (media is downloaded on demand). */
  content?: InboundContent;
  /** The Message's type and content fields, once the gateway stored the content's file. */
  fields?: Record<string, unknown> & { type: string };
}

/** What an inbound message carries besides text. */
export type InboundContent =
  | {
      kind: 'media';
      type: MediaKind;
      mimeType: string;
      fileName?: string;
      caption?: string;
      seconds?: number;
      width?: number;
      height?: number;
      /** Fetches and decrypts the file (Baileys' downloadMediaMessage; the sandbox has it at hand). */
      download(): Promise<Buffer>;
    }
  | { kind: 'location'; latitude: number; longitude: number; name?: string; address?: string }
  | { kind: 'contacts'; contacts: Array<{ name: string; vcard: string }> };

/** What a connection reports besides its status: messages and receipts. */
export type EngineData =
  | { type: 'message'; message: InboundText; /** arrived while offline (history catch-up) */ offline: boolean }
  /** `sent`: WhatsApp's server acknowledged a message that was answered as `pending`. */
  | { type: 'receipt'; id: string; chatId: string; status: 'sent' | 'delivered' | 'read' | 'played'; timestamp: number };

/**
 * Where a connection's events go. For data (messages, receipts) the answer settles once the
 * gateway has recorded it, so an engine that can hold back its acknowledgement waits for it.
 */
export type EngineEmit = (event: EngineSignal | EngineData) => Promise<void> | void;

/**
 * The connection closed before the message was acknowledged. Without `unacknowledged`, nothing
 * left and a retry is safe; with it, the message may have left under that id and is re-sent only
 * under the same id (`OutgoingText.id`), so that the recipient keeps one copy.
 */
export class EngineClosedError extends Error {
  constructor(
    detail = 'the connection closed before the message was sent',
    readonly unacknowledged?: string,
  ) {
    super(detail);
    this.name = 'EngineClosedError';
  }
}

/** WhatsApp (or the simulated network) refused the message. */
export class EngineSendError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'EngineSendError';
  }
}

export interface OutgoingText {
  chatId: string;
  body: string;
  quoted?: string;
  mentions?: string[];
  linkPreview: boolean;
  /** Re-send under this id: a message that was handed to a connection lost before its ack. */
  id?: string;
  /** The id of a text message this channel sent: the new body replaces its text. */
  edit?: string;
  /** Sent as a forward (WhatsApp shows it labelled forwarded). */
  forwarded?: boolean;
}

/**
 * A message the engine handed to WhatsApp: `sent` once WhatsApp's server acknowledged it;
 * `pending` when no ack came within the ack window although the connection answered a probe
 * (a `sent` receipt follows if the ack comes).
 */
export interface SentText {
  id: string;
  timestamp: number;
  status: 'sent' | 'pending';
}

/** A message of this channel's chat that a reaction, pin, star, read receipt or delete is about. */
export interface MessageRef {
  chatId: string;
  id: string;
  fromMe: boolean;
  /** unix seconds (a delete for this device names it) */
  timestamp?: number;
}

/** A file to send, already fetched or read from the media store. */
export interface OutgoingFile {
  bytes: Buffer;
  mimeType: string;
  fileName?: string;
}

/** Anything but plain text: media, a location, contacts, a link preview, a reaction, a pin, a star, a read receipt, a delete. */
export type OutgoingContent = {
  chatId: string;
  quoted?: string;
  mentions?: string[];
  /** Re-send under this id (see OutgoingText.id). */
  id?: string;
  /** Sent as a forward (see OutgoingText.forwarded). */
  forwarded?: boolean;
} & (
  | {
      kind: 'media';
      type: MediaKind;
      file: OutgoingFile;
      caption?: string;
      viewOnce?: boolean;
      seconds?: number;
      width?: number;
      height?: number;
    }
  | { kind: 'location'; latitude: number; longitude: number; name?: string; address?: string; url?: string }
  | { kind: 'contacts'; contacts: Array<{ name: string; vcard: string }> }
  | { kind: 'link_preview'; body: string; title: string; description?: string; canonical?: string; thumbnail?: Buffer }
  | { kind: 'reaction'; target: MessageRef; /** '' removes the reaction */ emoji: string }
  | { kind: 'pin'; target: MessageRef; pin: boolean; seconds: number }
  | { kind: 'star'; target: MessageRef; star: boolean }
  /** A read receipt for a received message. */
  | { kind: 'read'; target: MessageRef }
  /** A message of ours is revoked for everyone; another's is deleted on this device only. */
  | { kind: 'delete'; target: MessageRef }
);

/** One connection attempt. Its events go to the `emit` passed to `Engine.connect`. */
export interface EngineConnection {
  /** Ends the connection without logging out; no further events are emitted. */
  close(): Promise<void>;
  /** Tells WhatsApp that this device leaves (best effort); credentials are wiped by the caller. */
  logout(): Promise<void>;
  /** Asks for a pairing code for `phone` (digits only) while pairing. */
  requestPairingCode(phone: string): Promise<string>;
  /** The linked account's profile. */
  profile(): Promise<Profile>;
  /** Sends a text; throws EngineClosedError when the connection ended first, EngineSendError when refused. */
  sendText(message: OutgoingText): Promise<SentText>;
  /**
   * Sends anything else; the same errors as `sendText`. A star, a read receipt and a delete for
   * this device send no message and answer the target's id.
   */
  sendContent(content: OutgoingContent): Promise<SentText>;
}

/**
 * An adapter between a channel's lifecycle and one way of reaching WhatsApp. The lifecycle never
 * knows which engine runs; it sees only the signals a connection emits.
 */
export interface Engine {
  readonly kind: EngineKind;
  /** Starts one connection attempt. */
  connect(emit: EngineEmit): EngineConnection;
  /** Releases everything the engine holds (the channel is deleted or the gateway stops). */
  dispose(): Promise<void>;
}

export type EngineFactory = (ctx: EngineContext) => Engine;
