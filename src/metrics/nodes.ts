import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ChannelService } from '../channel/service.js';
import { STATUS_TEXTS } from '@wagate/protocol';

/** This process as one node of several (SPEC §10): its id labels every metric. */
export interface NodeMetricsDeps {
  id: string;
  channels: () => ChannelService;
  /** Whether this node runs the channel's engine now. */
  runsHere(channelId: string): boolean;
}

/** The per-node metrics: channels this node runs, and requests it carried to the owner node. */
export class NodeMetrics {
  private readonly forwards: Counter<'outcome'>;
  private readonly forwardSeconds: Histogram<'outcome'>;

  constructor(r: Registry, deps: NodeMetricsDeps) {
    // Every series says which node exported it: one scrape per node, summed or split by `node`.
    r.setDefaultLabels({ node: deps.id });
    new Gauge({
      name: 'wagate_node_channels',
      help: 'Channels whose engine runs on this node (it holds their lease), by status',
      labelNames: ['status'],
      registers: [r],
      collect() {
        const counts = new Map(STATUS_TEXTS.map((s) => [s, 0]));
        for (const c of deps.channels().all()) if (deps.runsHere(c.id)) counts.set(c.state.status, (counts.get(c.state.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    this.forwards = new Counter({
      name: 'wagate_node_forwards_total',
      help: "Requests carried to a channel's owner node: answered by it, or expired waiting for one",
      labelNames: ['outcome'],
      registers: [r],
    });
    this.forwardSeconds = new Histogram({
      name: 'wagate_node_forward_seconds',
      help: "From a request's arrival to the owner node's answer (or to giving up)",
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [r],
    });
  }

  /** One request carried to another node. */
  forward(outcome: 'answered' | 'expired', waitedMs: number): void {
    this.forwards.inc({ outcome });
    this.forwardSeconds.observe({ outcome }, waitedMs / 1000);
  }
}
