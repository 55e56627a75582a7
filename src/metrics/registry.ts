import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChannelService } from '../channel/service.js';
import type { Effect } from '../channel/lifecycle.js';
import { STATUS_TEXTS } from '@wagate/protocol';
import type { DueDelivery, Store } from '../store/types.js';
import { NodeMetrics, type NodeMetricsDeps } from './nodes.js';

/** Every metric wagate exports at `/metrics`, and the hooks that move them. */
export class Metrics {
  readonly registry = new Registry();
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly flaps: Counter<string>;
  private readonly reconnects: Counter<'kind'>;
  private readonly deliveries: Counter<'result'>;
  private readonly deliveryLatency: Histogram<string>;
  private readonly holdWaits: Counter<'outcome'>;
  private readonly holdSeconds: Histogram<'outcome'>;
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly storeFaults: Counter<string>;
  private readonly remediations: Counter<'action' | 'outcome'>;
  /** Set when this process is one node of several. */
  readonly node: NodeMetrics | null;

  constructor(deps: {
    channels: () => ChannelService;
    store: Store;
    proxies?: () => Array<{ state: string; health: { status: string } }>;
    node?: Omit<NodeMetricsDeps, 'channels'>;
  }) {
    const r = this.registry;
    this.node = deps.node ? new NodeMetrics(r, { ...deps.node, channels: deps.channels }) : null;
    collectDefaultMetrics({ register: r, prefix: 'wagate_' });
    new Gauge({
      name: 'wagate_channels',
      help: 'Channels by status',
      labelNames: ['status'],
      registers: [r],
      collect() {
        const counts = new Map(STATUS_TEXTS.map((s) => [s, 0]));
        const channels = deps.channels();
        for (const c of channels.list({ count: channels.size, offset: 0 }).channels) counts.set(c.state.status, (counts.get(c.state.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    this.transitions = new Counter({ name: 'wagate_status_transitions_total', help: 'Status changes', labelNames: ['from', 'to'], registers: [r] });
    this.flaps = new Counter({ name: 'wagate_flaps_total', help: 'Flapping alerts raised', registers: [r] });
    this.reconnects = new Counter({
      name: 'wagate_reconnect_attempts_total',
      help: 'Reconnects scheduled after a drop (backoff) or started at once (restart required)',
      labelNames: ['kind'],
      registers: [r],
    });
    this.deliveries = new Counter({ name: 'wagate_webhook_deliveries_total', help: 'Webhook delivery attempts by result', labelNames: ['result'], registers: [r] });
    this.deliveryLatency = new Histogram({
      name: 'wagate_webhook_delivery_latency_seconds',
      help: 'From the event being written to its successful delivery',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [r],
    });
    new Gauge({
      name: 'wagate_outbox_pending',
      help: 'Webhook deliveries waiting to be sent',
      registers: [r],
      async collect() {
        // While the store fails, /metrics must still answer: the gauge keeps its last value.
        const depth = await deps.store.outboxDepth().catch(() => null);
        if (depth) this.set(depth.pending);
      },
    });
    new Gauge({
      name: 'wagate_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest pending delivery (0 when none)',
      registers: [r],
      async collect() {
        const depth = await deps.store.outboxDepth().catch(() => null);
        if (depth) this.set(depth.oldestCreatedAt === null ? 0 : Math.max(0, (Date.now() - depth.oldestCreatedAt) / 1000));
      },
    });
    this.holdWaits = new Counter({ name: 'wagate_send_hold_waits_total', help: 'Sends that waited for a reconnect, by outcome', labelNames: ['outcome'], registers: [r] });
    this.holdSeconds = new Histogram({
      name: 'wagate_send_hold_wait_seconds',
      help: 'How long held sends waited',
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60],
      registers: [r],
    });
    new Gauge({
      name: 'wagate_proxies',
      help: 'Pool proxies by state and health',
      labelNames: ['state', 'health'],
      registers: [r],
      collect() {
        this.reset();
        for (const p of deps.proxies?.() ?? []) this.inc({ state: p.state, health: p.health.status });
      },
    });
    this.remediations = new Counter({
      name: 'wagate_remediation_actions_total',
      help: 'Remediation actions by action and outcome (taken, announced in alert mode, handed_over)',
      labelNames: ['action', 'outcome'],
      registers: [r],
    });
    this.requests = new Counter({ name: 'wagate_http_requests_total', help: 'HTTP requests by route and status code', labelNames: ['method', 'route', 'code'], registers: [r] });
    this.storeFaults = new Counter({ name: 'wagate_store_commit_faults_total', help: 'Channel commits the store refused (each is retried until it lands)', registers: [r] });
  }

  /** A channel commit failed because the store did (it is being retried). */
  storeFault(): void {
    this.storeFaults.inc();
  }

  /** A lifecycle step's effects (transitions, flaps, reconnects). */
  step(effects: Effect[]): void {
    for (const e of effects) {
      if (e.kind === 'record' && e.entry.from !== e.entry.to) {
        this.transitions.inc({ from: e.entry.from, to: e.entry.to });
        if (e.entry.to === 'INIT' && e.entry.reason === 'restart_required') this.reconnects.inc({ kind: 'immediate' });
      } else if (e.kind === 'record' && e.entry.reason === 'flapping') {
        this.flaps.inc();
      } else if (e.kind === 'schedule' && e.timer === 'reconnect') {
        this.reconnects.inc({ kind: 'backoff' });
      }
    }
  }

  /** One webhook attempt's outcome. */
  delivery(d: DueDelivery, outcome: 'delivered' | 'retry' | 'failed', now: number): void {
    this.deliveries.inc({ result: outcome });
    if (outcome === 'delivered') this.deliveryLatency.observe(Math.max(0, (now - d.createdAt) / 1000));
  }

  /** A send that waited for a reconnect. */
  hold(outcome: 'sent' | 'expired', waitedMs: number): void {
    this.holdWaits.inc({ outcome });
    this.holdSeconds.observe({ outcome }, waitedMs / 1000);
  }

  /** One remediation decision that was announced. */
  remediation(action: string, outcome: string): void {
    this.remediations.inc({ action, outcome });
  }

  request(method: string, route: string, code: number): void {
    this.requests.inc({ method, route, code: String(code) });
  }
}
