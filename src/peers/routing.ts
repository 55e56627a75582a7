import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../channel/clock.js';
import { hashToken } from '../channel/tokens.js';
import { ApiError, ERROR_MESSAGES, errors, type ErrorBody } from '@wagate/protocol';
import { SEND_OUTCOME_UNKNOWN } from '../messages/service.js';
import type { ChannelOwner } from '../store/cluster.js';
import type { ChannelRecord, IdempotencyRecord } from '../store/types.js';
import { channelSettings } from '../webhooks/outbox.js';
import {
  ANSWERED_BY_HEADER,
  FORWARDED_BY_HEADER,
  HOLD_HEADER,
  NODE_SECRET_HEADER,
  carriesNodeSecret,
  copyHeaders,
  misdirected,
  type Headers,
  type PeerClient,
  type PeerOutcome,
} from './client.js';
import { engineWork, type EngineWork } from './routes.js';
import { requestToken } from '../http/auth.js';

/** The key a forwarded send goes out under when its client gave none, so a retry on the next owner sends it once. */
const INTERNAL_KEY_PREFIX = 'wagate-forward-';

export interface PeerRoutingDeps {
  nodeId: string;
  /** sha256 of WAGATE_NODE_SECRET; null: this node neither forwards nor accepts forwarded requests. */
  secretHash: string | null;
  secret: string | null;
  client: PeerClient;
  /** The node holding the channel's lease (its URL from the nodes table), or null. */
  owner(channelId: string): Promise<ChannelOwner | null>;
  /** The channel as the database has it. */
  record(channelId: string): Promise<ChannelRecord | null>;
  /** A send's Idempotency-Key record, if one was written (the answer, or 0 while under way). */
  idempotency(channelId: string, key: string): Promise<IdempotencyRecord | null>;
  /** Whether this node runs the channel's engine now (it holds the lease and has adopted it). */
  runsHere(channelId: string): boolean;
  /** A forwarded send arrived after an ownership move: hold sends on this channel until then (unix ms). */
  expectMove(channelId: string, until: number): void;
  /** A channel this node does not run, fresh from the database, before a route reads it. */
  refresh?(record: ChannelRecord): void;
  /** Observes each forward (metrics): `answered` by a peer, or `expired` waiting for one. */
  onForward?(outcome: 'answered' | 'expired', waitedMs: number): void;
  clock: Clock;
  /** How often an unreachable or moving owner is looked up again. */
  pollMs: number;
  /** The largest body forwarded (multipart media included). */
  bodyLimitBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on a request another node forwarded (its secret checked): it is answered here, never forwarded again. */
    forwardedBy?: string;
  }
}

/**
 * Any node answers any request (SPEC §10): requests for a channel whose engine runs on another
 * node are carried there over HTTP, with the client's method, path, headers and body, and the
 * owner's answer comes back unchanged. Reads are answered here from the database. A send whose
 * owner is unreachable or moving is retried on the channel's next owner within `send_hold_ms`.
 */
export function registerPeerRouting(app: FastifyInstance, deps: PeerRoutingDeps): void {
  // Which node answered: the owner's own header survives the relay.
  app.addHook('onSend', async (_req, reply) => {
    if (!reply.hasHeader(ANSWERED_BY_HEADER)) void reply.header(ANSWERED_BY_HEADER, deps.nodeId);
  });
  app.addHook('preParsing', async (req, reply, payload) => {
    const channelId = channelOf(req);
    if (channelId === null) return payload;
    const forwardedBy = checkForwarded(req, deps);
    if (deps.runsHere(channelId)) {
      const hold = Number(req.headers[HOLD_HEADER]);
      if (forwardedBy && Number.isFinite(hold) && hold > 0) deps.expectMove(channelId, deps.clock.now() + hold);
      return payload;
    }
    const record = await deps.record(channelId);
    if (!record) throw req.channel ? errors.invalidToken('the token matches no channel') : errors.notFound(`channel ${channelId} does not exist`);
    // This node's copy of the token may be older than a rotation on another node.
    if (req.channel && record.tokenHash !== hashToken(requestToken(req) ?? '')) {
      deps.refresh?.(record);
      throw errors.invalidToken('the token matches no channel');
    }
    const route = req.routeOptions.url ?? '';
    const work = engineWork({ method: req.method, route, query: (req.query ?? {}) as Record<string, unknown>, status: record.status });
    if (work === null) {
      deps.refresh?.(record);
      return payload;
    }
    // Another node thought this one ran the channel; it asks the database again and retries.
    if (forwardedBy) {
      return misdirected(reply, deps.nodeId, channelId);
    }
    if (deps.secret === null) {
      throw new ApiError(503, ERROR_MESSAGES.unavailable, `channel ${channelId} runs on another node, and forwarding needs WAGATE_NODE_SECRET (the same on every node)`);
    }
    const body = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(payload as Readable, deps.bodyLimitBytes);
    if (work === 'wake') {
      // /health works in every status: while the channel's node is out of reach, from the database.
      const owner = await deps.owner(channelId);
      const outcome = owner ? await deps.client.send(owner.url, { method: req.method, path: req.url, headers: forwardHeaders(req, deps, {}), body }) : null;
      if (outcome?.kind === 'answer') return relay(reply, outcome, false);
      deps.refresh?.(record);
      return payload;
    }
    const answer = await forward(req, deps, channelId, work, record, body);
    return relay(reply, answer.outcome, answer.internalKey);
  });
}

/** The channel a request is about: the token's (gate) or the path's (partner); null for the rest. */
function channelOf(req: FastifyRequest): string | null {
  if (req.channel) return req.channel.id;
  const route = req.routeOptions.url ?? '';
  if (!route.startsWith('/partner/channels/:id')) return null;
  return (req.params as { id?: string }).id ?? null;
}

/** The forwarding node, when the request carries the node secret; a wrong secret is refused. */
function checkForwarded(req: FastifyRequest, deps: PeerRoutingDeps): string | undefined {
  const by = req.headers[FORWARDED_BY_HEADER];
  if (by === undefined) return undefined;
  if (!carriesNodeSecret(req.headers, deps.secretHash)) {
    throw errors.invalidToken(`a request forwarded by another node must carry ${NODE_SECRET_HEADER} equal to this node's WAGATE_NODE_SECRET`);
  }
  req.forwardedBy = String(by);
  return req.forwardedBy;
}

/**
 * Carries the request to the channel's owner. An owner that does not answer (dead, or not yet
 * running the channel) is looked up again until one answers or the hold runs out; after a
 * move, the owner is told how much of the hold is left, so the send waits there for AUTH.
 */
async function forward(
  req: FastifyRequest,
  deps: PeerRoutingDeps,
  channelId: string,
  work: EngineWork,
  record: ChannelRecord,
  body: Buffer,
): Promise<{ outcome: PeerOutcome; internalKey: boolean }> {
  const { clock } = deps;
  const holdMs = channelSettings(record.settings).send_hold_ms;
  const started = clock.now();
  const deadline = started + holdMs;
  // A send without a key gets one: if its owner dies mid-send, the next owner finds the first answer.
  const internalKey = work === 'send' && req.headers['idempotency-key'] === undefined;
  const key = internalKey ? `${INTERNAL_KEY_PREFIX}${randomUUID()}` : String(req.headers['idempotency-key'] ?? '');
  const base = forwardHeaders(req, deps, internalKey ? { 'idempotency-key': key } : {});
  let moved = false;
  let last = 'no node holds its lease';
  for (;;) {
    const owner = await deps.owner(channelId);
    if (owner) {
      const headers = moved && work === 'send' ? { ...base, [HOLD_HEADER]: String(Math.max(1, deadline - clock.now())) } : base;
      const outcome = await deps.client.send(owner.url, { method: req.method, path: req.url, headers, body });
      if (outcome.kind === 'answer') {
        deps.onForward?.('answered', clock.now() - started);
        return { outcome, internalKey };
      }
      last = outcome.kind === 'not_owner' ? `node ${owner.nodeId} is taking it over` : `its node ${owner.nodeId} is unreachable (${outcome.error})`;
    } else {
      last = 'no node holds its lease';
    }
    moved = true;
    const left = deadline - clock.now();
    if (left <= 0) {
      deps.onForward?.('expired', clock.now() - started);
      // An owner that died after it took the send may have sent it: its key's record says.
      const settled = work === 'send' ? await recordedAnswer(deps, channelId, key, internalKey) : null;
      if (settled) return { outcome: settled, internalKey };
      const details = `channel ${channelId} is moving between nodes: ${last}, and no node ran it within send_hold_ms (${holdMs} ms)`;
      throw work === 'send' ? errors.needAuthorization(details) : new ApiError(503, ERROR_MESSAGES.unavailable, details);
    }
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(deps.pollMs, left)));
  }
}

/** The client's headers, with this node's name and the node secret. */
function forwardHeaders(req: FastifyRequest, deps: PeerRoutingDeps, extra: Record<string, string>): Record<string, string | string[]> {
  return copyHeaders(req.headers as Headers, { [NODE_SECRET_HEADER]: deps.secret ?? '', [FORWARDED_BY_HEADER]: deps.nodeId, ...extra });
}

/** The answer a send's key recorded (its first answer, or 409 while its outcome is unknown), if any. */
async function recordedAnswer(deps: PeerRoutingDeps, channelId: string, key: string, internalKey: boolean): Promise<PeerOutcome | null> {
  const record = await deps.idempotency(channelId, key);
  if (!record) return null;
  const json = { 'content-type': 'application/json; charset=utf-8' };
  if (record.status === 0) {
    const error = new ApiError(409, SEND_OUTCOME_UNKNOWN, 'the node that ran the channel stopped while this message was being sent; check GET /messages/list before sending it again');
    return { kind: 'answer', status: 409, headers: json, body: Buffer.from(JSON.stringify(error.toBody())) };
  }
  return { kind: 'answer', status: record.status, headers: { ...json, ...(internalKey ? {} : { 'idempotent-replayed': 'true' }) }, body: Buffer.from(JSON.stringify(record.response)) };
}

/** The owner's answer, as it gave it (its status, headers and body). */
function relay(reply: FastifyReply, outcome: PeerOutcome, internalKey: boolean): FastifyReply {
  if (outcome.kind !== 'answer') throw new Error('only an answer is relayed');
  for (const [name, value] of Object.entries(outcome.headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || lower === 'content-length' || lower === 'transfer-encoding' || lower === 'connection' || lower === 'keep-alive') continue;
    // The key was the forwarder's, not the client's: a replay under it is news to nobody.
    if (internalKey && lower === 'idempotent-replayed') continue;
    void reply.header(name, value);
  }
  return reply.code(outcome.status).send(internalKey && outcome.status === 409 ? unknownOutcome(outcome.body) : outcome.body);
}

/**
 * A send under the forwarder's own key whose owner died mid-send: the owner that took over
 * found the key taken and the outcome unknown. Said without the key the client never gave.
 */
function unknownOutcome(body: Buffer): Buffer | ErrorBody {
  try {
    const parsed = JSON.parse(body.toString()) as ErrorBody;
    if (parsed.error?.message !== SEND_OUTCOME_UNKNOWN) return body;
    return new ApiError(409, SEND_OUTCOME_UNKNOWN, 'the node that ran the channel stopped while this message was being sent; check GET /messages/list before sending it again').toBody();
  } catch {
    return body;
  }
}

/** Reads a request body whole, up to `limit` bytes (413 past it). */
async function readBody(payload: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > limit) throw new ApiError(413, ERROR_MESSAGES.payloadTooLarge, `the body is over ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

