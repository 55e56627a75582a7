import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { ChannelService } from '../channel/service.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import { hashToken, sameHash } from '../channel/tokens.js';
import { errors } from '@wagate/protocol';
import type { AuthFailureLimiter } from './auth-limiter.js';
import type { StreamTickets } from './stream-tickets.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The channel whose token authorised this request (gate routes). */
    channel: ChannelRuntime;
  }
}

/** The token in `Authorization: Bearer <token>`, if the request sends one. */
export function headerToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
}

/** `?<name>=` as a single non-empty string, if present. */
function queryParam(req: FastifyRequest, name: string): string | null {
  const value = (req.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The token a gate request carries: `Authorization: Bearer <token>`, or `?token=` as Whapi allows. */
export function requestToken(req: FastifyRequest): string | null {
  return req.headers.authorization ? headerToken(req) : queryParam(req, 'token');
}

export interface AuthenticatorDeps {
  channels: ChannelService;
  /** The admin token's hash (it may be generated after the server is built). */
  adminTokenHash: () => string;
  metricsTokenHash: string | null;
  limiter: AuthFailureLimiter;
  tickets: StreamTickets;
  /** Several nodes: a token this node does not know may belong to a channel created on another one. */
  discover?: (tokenHash: string) => Promise<ChannelRuntime | undefined>;
}

const ADMIN_HEADER_ONLY = 'send the admin token as "Authorization: Bearer <token>"; the partner API never takes it in the URL';

/**
 * Every credential check, each an onRequest hook. A request that carries a credential from an
 * address that has failed too often answers 429 before its credential is looked at; a wrong
 * credential counts against its address.
 */
export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /**
   * Gate routes: finds the channel of the token or answers 401 (never `need channel authorization`).
   * The admin token gets a hint: it is the mistake a newcomer makes first. Callback-style: every
   * gate request runs it, and an async hook costs a promise and a tick; only a token this node
   * does not know waits (for another node's answer).
   */
  readonly channel = (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    let token: string;
    let known: ChannelRuntime | undefined;
    try {
      token = this.gateToken(req);
      known = this.deps.channels.byToken(token);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (known) {
      req.channel = known;
      done();
      return;
    }
    this.unknownToken(req, token).then(() => done(), done);
  };

  /** The channel token a gate request carries, once its address may still try one. */
  private gateToken(req: FastifyRequest): string {
    const token = requestToken(req);
    if (!token) throw errors.invalidToken('send the channel token as "Authorization: Bearer <token>" or ?token=');
    this.deps.limiter.check(req.ip);
    return token;
  }

  /** A token no channel here has: another node's channel, the admin token, or a wrong one. */
  private async unknownToken(req: FastifyRequest, token: string): Promise<void> {
    if (this.isAdmin(token)) {
      this.refuse(req, 'this is the admin token: gate routes take a channel token (the "token" of PUT /partner/channels), or use the /partner/channels/{id}/… routes');
    }
    const channel = await this.deps.discover?.(hashToken(token));
    if (!channel) this.refuse(req, 'the token matches no channel');
    req.channel = channel;
  }

  /** Partner routes: the admin token, in the Authorization header only; a channel token answers 403. */
  readonly admin = async (req: FastifyRequest): Promise<void> => {
    const token = headerToken(req);
    if (!token) throw errors.invalidToken(ADMIN_HEADER_ONLY);
    this.deps.limiter.check(req.ip);
    if (this.isAdmin(token)) return;
    this.deps.limiter.fail(req.ip);
    if (this.deps.channels.byToken(token)) throw errors.adminRequired('a channel token cannot use the partner API');
    throw errors.invalidToken('the token is not the admin token');
  };

  /** The partner event stream: the admin token in the header, or a ticket (`?ticket=`) for browsers. */
  readonly stream = async (req: FastifyRequest): Promise<void> => {
    const ticket = queryParam(req, 'ticket');
    if (req.headers.authorization || ticket === null) return this.admin(req);
    this.deps.limiter.check(req.ip);
    if (!(await this.deps.tickets.redeem(ticket))) this.refuse(req, 'the ticket is unknown, used or expired: get a new one with POST /partner/events/ticket');
  };

  /** `/metrics`: the admin token (header only) or WAGATE_METRICS_TOKEN (header or `?token=`, for scrapers). */
  readonly metrics = async (req: FastifyRequest): Promise<void> => {
    const header = headerToken(req);
    const token = header ?? queryParam(req, 'token');
    if (!token) throw errors.invalidToken('send the admin token or WAGATE_METRICS_TOKEN as "Authorization: Bearer <token>"');
    this.deps.limiter.check(req.ip);
    const { metricsTokenHash } = this.deps;
    if (header !== null && this.isAdmin(token)) return;
    if (metricsTokenHash !== null && sameHash(hashToken(token), metricsTokenHash)) return;
    this.refuse(req, 'the token is neither the admin token (in the Authorization header) nor the metrics token');
  };

  private isAdmin(token: string): boolean {
    return sameHash(hashToken(token), this.deps.adminTokenHash());
  }

  private refuse(req: FastifyRequest, details: string): never {
    this.deps.limiter.fail(req.ip);
    throw errors.invalidToken(details);
  }
}
