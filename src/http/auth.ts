import type { FastifyRequest } from 'fastify';
import type { ChannelService } from '../channel/service.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import { hashToken, sameHash } from '../channel/tokens.js';
import { errors } from '../protocol/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The channel whose token authorised this request (gate routes). */
    channel: ChannelRuntime;
  }
}

/** The token a request carries: `Authorization: Bearer <token>` or `?token=<token>`. */
export function requestToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? null;
  }
  const query = req.query as Record<string, unknown> | undefined;
  const q = query?.token;
  return typeof q === 'string' && q.length > 0 ? q : null;
}

/**
 * Finds the channel of a gate request or answers 401 (never `need channel authorization`).
 * The admin token gets a hint: it is the mistake a newcomer makes first.
 */
export function channelAuth(channels: ChannelService, adminTokenHash: () => string) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = requestToken(req);
    if (!token) throw errors.invalidToken('send the channel token as "Authorization: Bearer <token>" or ?token=');
    const channel = channels.byToken(token);
    if (!channel && sameHash(hashToken(token), adminTokenHash())) {
      throw errors.invalidToken('this is the admin token: gate routes take a channel token (the "token" of PUT /partner/channels), or use the /partner/channels/{id}/… routes');
    }
    if (!channel) throw errors.invalidToken('the token matches no channel');
    req.channel = channel;
  };
}

/** Admits only the admin token; a channel token on a partner route answers 403. */
export function adminAuth(adminTokenHash: () => string, channels: ChannelService) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = requestToken(req);
    if (!token) throw errors.invalidToken('send the admin token as "Authorization: Bearer <token>"');
    if (sameHash(hashToken(token), adminTokenHash())) return;
    if (channels.byToken(token)) throw errors.adminRequired('a channel token cannot use the partner API');
    throw errors.invalidToken('the token is not the admin token');
  };
}
