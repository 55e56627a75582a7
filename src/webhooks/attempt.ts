import { splitEventName } from '@wagate/protocol';
import type { AttemptResult, DueDelivery } from '../store/types.js';
import type { DispatcherDeps } from './dispatcher.js';
import type { OutcomeWriter } from './outcomes.js';
import { isExpired, planRetry } from './policy.js';

/** After this many failed attempts of one delivery, the channel hears that its webhook fails. */
export const FAILING_ALERT_AFTER = 5;
/** One `webhook_failing` alert per queue in this window, however many deliveries fail. */
const FAILING_ALERT_QUIET_MS = 10 * 60_000;

/** The webhook-id of a delivery: the event's, so a receiver can dedupe retries and replays. */
export function webhookId(delivery: { eventSeq: number }): string {
  return `msg_${delivery.eventSeq}`;
}

/** What a queue does after an attempt: go on with its next claimed row, or let the store decide again. */
export type Next = 'next' | 'release';

export type AttemptDeps = Pick<DispatcherDeps, 'store' | 'clock' | 'sender' | 'alert' | 'disableWebhook' | 'route' | 'observe'> & {
  outcomes: OutcomeWriter;
  /** A retry was planned for `at`: the dispatcher looks again by then. */
  retryAt(at: number): void;
};

/**
 * One attempt of one delivery and its outcome: the send, the outcome committed, the retry
 * planned, and the channel's `webhook_failing` / `webhook_disabled` alerts. Which delivery goes
 * when is the dispatcher's business; what one attempt does and records is this one's.
 */
export class DeliveryAttempts {
  private readonly lastFailingAlert = new Map<string, number>();
  /** Channels with a webhook_failing alert and no delivery since (the fleet view's flag). */
  private readonly failingChannels = new Set<string>();

  constructor(private readonly deps: AttemptDeps) {}

  /** Whether a webhook of the channel is failing: alerted, and nothing delivered since. */
  isFailing(channelId: string): boolean {
    return this.failingChannels.has(channelId);
  }

  /**
   * One attempt of one delivery, and its outcome committed; answers what its queue does next.
   * `sent` is called once the request is answered (or was never made), before the outcome is
   * written: from then on the attempt holds no connection, only its queue.
   */
  async run(due: DueDelivery, sent: () => void = () => undefined): Promise<Next> {
    const { store, clock, sender } = this.deps;
    const routed = this.deps.route?.(due) ?? due.target;
    if ('cancelled' in routed) {
      await store.cancelDeliveries({ channelId: due.channelId, id: due.id }, routed.cancelled, clock.now());
      return 'next';
    }
    const d: DueDelivery = routed === due.target ? due : { ...due, target: routed };
    if (isExpired(d.createdAt, clock.now(), d.target.maxAgeSeconds)) {
      await this.giveUp(d, `gave up: older than webhook_max_age_seconds (${d.target.maxAgeSeconds} s)`, null);
      return 'next';
    }
    const { type, method } = splitEventName(d.eventName);
    const result = await sender.send({
      url: d.target.url,
      mode: d.target.mode,
      eventType: type,
      method,
      headers: d.target.headers,
      body: d.body,
      webhookId: webhookId(d),
      timestampSeconds: Math.floor(clock.now() / 1000),
      secret: d.target.secret ?? undefined,
    });
    sent();
    const now = clock.now();
    const lastStatus = result.status ?? null;
    // What the attempt's row keeps of the answer, whatever the outcome.
    const answered = { durationMs: result.durationMs, answer: result.answer ?? null };
    if (result.ok) {
      await this.deps.outcomes.record(d.id, { status: 'delivered', nextAttemptAt: now, at: now, lastStatus, lastError: null, ...answered });
      this.failingChannels.delete(d.channelId);
      this.deps.observe?.(d, result, 'delivered');
      return 'next';
    }
    const error = result.error ?? `HTTP ${lastStatus}`;
    if (result.gone) {
      const reason = `${error}: the receiver asked to stop; webhook disabled`;
      await this.deps.outcomes.record(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason, ...answered });
      await store.failQueue(d.queueKey, reason, now);
      await this.deps.disableWebhook(d.channelId, d.target.url, d.target.mode);
      await this.deps.alert(d.channelId, { kind: 'webhook_disabled', detail: `${d.target.url} answered 410 Gone`, at: Math.floor(now / 1000), webhook: d.target.url });
      this.deps.observe?.(d, result, 'failed');
      return 'release';
    }
    const attempts = d.attempts + 1;
    const plan = planRetry({
      attempt: attempts,
      backoffDelayMs: d.target.backoffDelayMs,
      maxBackoffDelayMs: d.target.maxBackoffDelayMs,
      retryAfterMs: result.retryAfterMs,
      createdAt: d.createdAt,
      now,
      maxAgeSeconds: d.target.maxAgeSeconds,
    });
    if (plan.kind === 'give_up') {
      await this.giveUp(d, `${error}; gave up: ${plan.reason}`, lastStatus, answered);
      this.deps.observe?.(d, result, 'failed');
      return 'next';
    }
    await this.deps.outcomes.record(d.id, { status: 'pending', nextAttemptAt: plan.at, at: now, lastStatus, lastError: error, ...answered });
    this.deps.retryAt(plan.at);
    this.deps.observe?.(d, result, 'retry');
    if (attempts === FAILING_ALERT_AFTER) {
      await this.failing(d, `${attempts} attempts failed (last: ${error}); retrying until webhook_max_age_seconds`);
    }
    return 'release';
  }

  /** Raises `webhook_failing` for a queue, at most once per quiet window. */
  private async failing(d: DueDelivery, detail: string): Promise<void> {
    const now = this.deps.clock.now();
    const last = this.lastFailingAlert.get(d.queueKey);
    if (last !== undefined && now - last < FAILING_ALERT_QUIET_MS) return;
    this.lastFailingAlert.set(d.queueKey, now);
    this.failingChannels.add(d.channelId);
    await this.deps.alert(d.channelId, { kind: 'webhook_failing', detail: `${d.target.url}: ${detail}`, at: Math.floor(now / 1000), webhook: d.target.url });
  }

  private async giveUp(d: DueDelivery, reason: string, lastStatus: number | null, answered?: Pick<AttemptResult, 'durationMs' | 'answer'>): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.outcomes.record(d.id, { status: 'failed', nextAttemptAt: now, at: now, lastStatus, lastError: reason, ...answered });
    await this.failing(d, `delivery ${d.id} failed for good (${reason}); replay it from /webhooks/deliveries`);
  }
}
