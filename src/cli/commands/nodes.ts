import type { Command } from 'commander';
import type { NodeList, NodeView } from '@wagate/protocol';
import { call, targetFromEnv } from '../api.js';
import { printTable, type Output } from '../output.js';

function nodeRow(n: NodeView): Record<string, unknown> {
  return {
    id: n.self ? `${n.id} *` : n.id,
    live: n.live ? 'yes' : 'no',
    state: n.state,
    channels: n.channels,
    auth: n.by_status.AUTH ?? 0,
    heartbeat: `${(n.heartbeat_age_ms / 1000).toFixed(1)}s ago`,
    url: n.url,
  };
}

/** `wagate nodes`: the gateway processes sharing this database, their liveness and their channels (SPEC §10). */
export function nodeCommands(program: Command, out: () => Output): void {
  program
    .command('nodes')
    .description('the gateway nodes on this database: liveness, heartbeat, channels each runs (* the node that answered)')
    .action(async () => {
      const list = await call<NodeList>(targetFromEnv(), 'GET', '/partner/nodes');
      printTable(out(), list.nodes.map(nodeRow), ['id', 'live', 'state', 'channels', 'auth', 'heartbeat', 'url'], list);
      if (!out().json && list.unplaced > 0) process.stdout.write(`${list.unplaced} channel(s) held by no node right now (being placed or failing over)\n`);
    });
}
