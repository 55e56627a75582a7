import type { FastifyReply } from 'fastify';
import { Agent, request } from 'undici';
import { ApiError } from '@wagate/protocol';
import { hashToken, sameHash } from '../channel/tokens.js';

/** The node-to-node secret (WAGATE_NODE_SECRET) a forwarded request carries. */
export const NODE_SECRET_HEADER = 'x-wagate-node-secret';
/** The node that forwarded a request: its receiver answers it itself and never forwards it again. */
export const FORWARDED_BY_HEADER = 'x-wagate-forwarded-by';
/** A send forwarded after its channel changed hands: how long it may still wait for AUTH (ms). */
export const HOLD_HEADER = 'x-wagate-hold-ms';
/** Set on the answer of a node that was asked for a channel it does not run (421). */
export const NOT_OWNER_HEADER = 'x-wagate-not-owner';
/** The node that answered a request for a channel's engine (extension header). */
export const ANSWERED_BY_HEADER = 'wagate-node';

/** Whether a request from another node carries this node's secret (constant time); never when no secret is set. */
export function carriesNodeSecret(headers: Headers, secretHash: string | null): boolean {
  const secret = headers[NODE_SECRET_HEADER];
  return secretHash !== null && typeof secret === 'string' && sameHash(hashToken(secret), secretHash);
}

/** The answer of a node asked for a channel it does not run: the sender looks the owner up again. */
export function misdirected(reply: FastifyReply, nodeId: string, channelId: string): FastifyReply {
  return reply
    .code(421)
    .header(NOT_OWNER_HEADER, nodeId)
    .send(new ApiError(421, 'misdirected request', `node ${nodeId} does not run channel ${channelId}`).toBody());
}

/** Hop-by-hop headers and those the forwarder sets itself: never copied across. */
const NOT_COPIED = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  NODE_SECRET_HEADER,
  FORWARDED_BY_HEADER,
  HOLD_HEADER,
]);

export type Headers = Record<string, string | string[] | undefined>;

/** A request as it goes to a peer: the client's own, byte for byte, plus the node headers. */
export interface PeerRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: Headers;
  body: Buffer;
}

/** What the peer answered; `unreachable`: no answer (dead, refused, reset); `not_owner`: it does not run the channel. */
export type PeerOutcome = { kind: 'answer'; status: number; headers: Headers; body: Buffer } | { kind: 'unreachable'; error: string } | { kind: 'not_owner' };

/** The client's headers minus hop-by-hop ones, ready to go to a peer. */
export function copyHeaders(headers: Headers, extra: Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_COPIED.has(name.toLowerCase())) out[name] = value;
  return { ...out, ...extra };
}

/** HTTP to the other nodes, over kept-alive connections; a peer that does not connect fast is taken for dead. */
export class PeerClient {
  private readonly agent: Agent;

  constructor(opts: { connectTimeoutMs: number; answerTimeoutMs: number }) {
    this.agent = new Agent({
      connect: { timeout: opts.connectTimeoutMs },
      headersTimeout: opts.answerTimeoutMs,
      bodyTimeout: opts.answerTimeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** Sends one request to the peer at `baseUrl` (from the nodes table, never from a client). */
  async send(baseUrl: string, req: PeerRequest): Promise<PeerOutcome> {
    const url = `${baseUrl.replace(/\/+$/, '')}${req.path}`;
    try {
      const res = await request(url, {
        method: req.method as 'GET',
        headers: req.headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body,
        dispatcher: this.agent,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode === 421 && res.headers[NOT_OWNER_HEADER]) return { kind: 'not_owner' };
      return { kind: 'answer', status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      return { kind: 'unreachable', error: (err as { code?: string }).code ?? (err as Error).message };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
