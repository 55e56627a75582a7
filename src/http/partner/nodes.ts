import type { FastifyInstance } from 'fastify';
import { NodeList, type NodeView } from '@wagate/protocol';
import type { ChannelRecord } from '../../store/types.js';
import { partnerErrors } from './params.js';

/** This process alone, on SQLite: the one node there is. */
export const STANDALONE_NODE_ID = 'standalone';

/** `GET /partner/nodes` (extension, SPEC §10): every node, its liveness, its channels and its load. */
export async function partnerNodeRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/partner/nodes',
    {
      schema: {
        tags: ['Partner'],
        summary: 'The gateway nodes on this database: liveness, heartbeat, and the channels each runs (extension)',
        response: { 200: NodeList, ...partnerErrors },
      },
    },
    async () => {
      const { store, node, clock } = app.wagate;
      const channels = await store.allChannels();
      const now = clock.now();
      if (!store.cluster || !node) {
        const self: NodeView = {
          id: STANDALONE_NODE_ID,
          url: app.wagate.apiUrl(),
          state: 'up',
          live: true,
          self: true,
          started_at: node?.startedAt ?? now,
          heartbeat_at: now,
          heartbeat_age_ms: 0,
          ...load(channels),
        };
        return { nodes: [self], total: 1, unplaced: 0, lease_ttl_ms: 0 };
      }
      const [nodes, owners] = await Promise.all([store.cluster.listNodes(node.ttlMs), store.cluster.channelOwners(channels.map((c) => c.id))]);
      const byNode = new Map<string, ChannelRecord[]>();
      for (const c of channels) {
        const owner = owners.get(c.id);
        if (!owner) continue;
        const list = byNode.get(owner.nodeId) ?? [];
        list.push(c);
        byNode.set(owner.nodeId, list);
      }
      const views: NodeView[] = nodes.map((n) => ({
        id: n.id,
        url: n.url,
        state: n.state,
        live: n.live,
        self: n.id === node.id,
        started_at: n.startedAt,
        heartbeat_at: n.heartbeatAt,
        heartbeat_age_ms: Math.max(0, now - n.heartbeatAt),
        ...load(byNode.get(n.id) ?? []),
      }));
      return { nodes: views, total: views.length, unplaced: channels.length - owners.size, lease_ttl_ms: node.ttlMs };
    },
  );
}

/** A node's load: how many channels, by status, and which. */
function load(channels: ChannelRecord[]): Pick<NodeView, 'channels' | 'by_status' | 'channel_ids'> {
  const byStatus: Record<string, number> = {};
  for (const c of channels) {
    const status = c.stopped ? 'STOP' : c.status;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  return { channels: channels.length, by_status: byStatus, channel_ids: channels.map((c) => c.id) };
}
