import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { Alert, ErrorBody, errors } from '@wagate/protocol';
import { hashToken } from '../channel/tokens.js';
import type { ChannelOwner } from '../store/cluster.js';
import { carriesNodeSecret, FORWARDED_BY_HEADER, misdirected, NODE_SECRET_HEADER, type PeerClient } from './client.js';

/**
 * What a node's dispatcher has to tell the channel's owner: the queue it sends may belong to a
 * channel another node runs, and only the owner writes the channel's events and settings.
 */
export type OwnerSignal = { kind: 'alert'; alert: Alert } | { kind: 'disable_webhook'; url: string; mode: string };

const OwnerSignalBody = Type.Union([
  Type.Object({ kind: Type.Literal('alert'), alert: Alert }),
  Type.Object({ kind: Type.Literal('disable_webhook'), url: Type.String(), mode: Type.String() }),
]);

/** The node-to-node route (never a client's): the node secret is its only credential. */
export const SIGNAL_PATH = '/_wagate/peer/channels/:id/signal';

export interface OwnerSignalDeps {
  nodeId: string;
  secret: string | null;
  client: PeerClient;
  owner(channelId: string): Promise<ChannelOwner | null>;
  runsHere(channelId: string): boolean;
  /** Carries the signal out here, where the channel runs. */
  apply(channelId: string, signal: OwnerSignal): Promise<void>;
  /** How long a relay keeps looking for an owner that answers (a move under way). */
  patienceMs: number;
  pollMs: number;
}

/** Registers the owner's side: a signal for a channel this node does not run answers 421, so the sender looks again. */
export function registerOwnerSignals(app: FastifyInstance, deps: OwnerSignalDeps): void {
  const secretHash = deps.secret === null ? null : hashToken(deps.secret);
  app.post(
    SIGNAL_PATH,
    { schema: { hide: true, body: OwnerSignalBody, response: { 204: Type.Null(), 401: ErrorBody, 421: ErrorBody } } },
    async (req, reply) => {
      if (!carriesNodeSecret(req.headers, secretHash)) {
        throw errors.invalidToken(`a node's signal must carry ${NODE_SECRET_HEADER} equal to this node's WAGATE_NODE_SECRET`);
      }
      const { id } = req.params as { id: string };
      if (!deps.runsHere(id)) return misdirected(reply, deps.nodeId, id);
      await deps.apply(id, req.body as OwnerSignal);
      return reply.status(204).send();
    },
  );
}

/**
 * Hands the signal to the channel's owner: here when this node runs it, else over HTTP to the
 * node holding the lease, looked up again while the owner is moving or unreachable, for up to
 * `patienceMs`. Answers false when no owner took it (no lease, no secret, or nobody answered).
 */
export async function relaySignal(deps: OwnerSignalDeps, channelId: string, signal: OwnerSignal): Promise<boolean> {
  const deadline = Date.now() + deps.patienceMs;
  for (;;) {
    if (deps.runsHere(channelId)) {
      await deps.apply(channelId, signal);
      return true;
    }
    const owner = deps.secret === null ? null : await deps.owner(channelId);
    if (owner && owner.nodeId !== deps.nodeId) {
      const outcome = await deps.client.send(owner.url, {
        method: 'POST',
        path: SIGNAL_PATH.replace(':id', encodeURIComponent(channelId)),
        headers: { 'content-type': 'application/json', [NODE_SECRET_HEADER]: deps.secret!, [FORWARDED_BY_HEADER]: deps.nodeId },
        body: Buffer.from(JSON.stringify(signal)),
      });
      if (outcome.kind === 'answer' && outcome.status === 204) return true;
      if (outcome.kind === 'answer' && outcome.status !== 421) return false;
    }
    if (deps.secret === null || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, deps.pollMs));
  }
}
