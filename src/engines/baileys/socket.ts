import { Agent as HttpsAgent, type Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  makeWASocket,
  type AnyMessageContent,
  type AuthenticationState,
  type ChatModification,
  type BaileysEventMap,
  type BinaryNode,
  type Contact,
  type MiscMessageGenerationOptions,
  type UserFacingSocketConfig,
  type WAMessage,
  type WAMessageKey,
  type proto,
} from 'baileys';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { BaileysLogger } from './auth-state.js';

/** One batch of Baileys events, as `ev.process` hands them over. */
export type BaileysEvents = Partial<BaileysEventMap>;

/**
 * Baileys' WebSocket client: an emitter of every decoded `frame`, of `CB:<tag>,<attr>:<value>` per
 * frame, and of `TAG:<id>` for answers.
 */
export interface SocketClientLike {
  on(event: string, listener: (node: BinaryNode) => void): unknown;
  off(event: string, listener: (node: BinaryNode) => void): unknown;
}

/**
 * The part of Baileys' socket the adapter uses. The real one comes from `makeWASocket`; tests
 * implement it with a fake that replays event sequences.
 */
export interface SocketLike {
  ev: { process(handler: (events: BaileysEvents) => void | Promise<void>): () => void };
  ws: SocketClientLike;
  /** Sends an iq and resolves with its answer. */
  query(node: BinaryNode, timeoutMs?: number): Promise<BinaryNode>;
  /** The linked account (creds.me), once known. */
  readonly user?: Contact;
  requestPairingCode(phone: string): Promise<string>;
  sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined>;
  logout(msg?: string): Promise<void>;
  end(error: Error | undefined): void | Promise<void>;
  profilePictureUrl?(jid: string, type?: 'preview' | 'image'): Promise<string | undefined>;
  /** App-state changes (stars, deletes for this device); absent on fakes that do not need them. */
  chatModify?(mod: ChatModification, jid: string): Promise<void>;
  /** Read receipts for received messages. */
  readMessages?(keys: WAMessageKey[]): Promise<void>;
}

export type SocketFactory = (config: UserFacingSocketConfig) => SocketLike;

/** The real thing: Baileys' `makeWASocket`. */
export const makeBaileysSocket: SocketFactory = (config) => makeWASocket(config);

export interface SocketParams {
  auth: AuthenticationState;
  wsUrl: string;
  /** The channel's `proxy` setting: a socks5 URL, or empty for a direct connection. */
  proxy: string;
  logger: BaileysLogger;
  /** Baileys asks for a message it sent when a recipient needs it re-encrypted (retry receipts). */
  getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined>;
  /** Baileys' regular keep-alive ping interval. */
  keepAliveMs: number;
  /** PEM certificates trusted for media uploads besides the system's roots (an emulator's media host). */
  mediaCa?: string;
}

/** The socket configuration for one connection attempt. */
export function socketConfig(p: SocketParams): UserFacingSocketConfig {
  const agent = proxyAgent(p.proxy);
  // Baileys uploads media itself (node:https, to the hosts WhatsApp's media_conn answer names) with this agent.
  const fetchAgent = agent ?? (p.mediaCa ? new HttpsAgent({ ca: [...rootCertificates, p.mediaCa] }) : undefined);
  return {
    auth: p.auth,
    logger: p.logger,
    waWebSocketUrl: p.wsUrl,
    agent,
    fetchAgent,
    getMessage: p.getMessage,
    // wagate records what it sends itself; Baileys' echo of it would arrive as a second copy.
    emitOwnEvents: false,
    // The phone keeps its notifications while the gateway is connected.
    markOnlineOnConnect: false,
    syncFullHistory: false,
    keepAliveIntervalMs: p.keepAliveMs,
  };
}

/** How soon TCP keep-alive starts probing an idle socket (keeps NAT and proxy mappings warm). */
const TCP_KEEP_ALIVE_DELAY_MS = 15_000;

/**
 * Turns on TCP keep-alive on the socket under Baileys' WebSocket, so a peer that vanished is
 * noticed by the kernel too and NAT mappings stay open between the 30 s pings. Best effort:
 * Node sets only the initial delay (the probe interval and count are the kernel's).
 */
export function enableTcpKeepAlive(ws: SocketClientLike): void {
  type Tcp = { setKeepAlive?(enable: boolean, delayMs: number): void };
  const tcp = (ws as unknown as { socket?: { _socket?: Tcp } | null }).socket?._socket;
  tcp?.setKeepAlive?.(true, TCP_KEEP_ALIVE_DELAY_MS);
}

/** The `w:p` ping WhatsApp Web's keep-alive sends; any answer (or any frame) proves the connection. */
export function pingNode(): BinaryNode {
  return { tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] };
}

/** An agent that tunnels through the channel's socks5 proxy, if it has one. */
export function proxyAgent(proxy: string): Agent | undefined {
  if (!proxy) return undefined;
  // SocksProxyAgent is an http.Agent that also handles TLS; Baileys types its option as https.Agent.
  return new SocksProxyAgent(proxy) as unknown as Agent;
}
