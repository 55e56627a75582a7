import type { ChannelService } from '../channel/service.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import type { Clock } from '../channel/clock.js';
import { Value } from '@sinclair/typebox/value';
import { ERROR_MESSAGES, errors, SETTINGS_WITHOUT_EFFECT, type Settings, type SettingsAnswer, type UpdateSettingsAnswer, type Webhook, type WebhookTestAnswer, type WebhookTestRequest, webhookTestPayload } from '@wagate/protocol';
import { RETENTION_DEFAULTS } from '../store/retention.js';
import { deliveryQueueKey } from '../store/rows.js';
import type { Delivery, DeliveryFilter, DeliveryPage, DeliveryTarget, DueDelivery, Page, Store } from '../store/types.js';
import type { OwnerSignal } from '../peers/signals.js';
import { Dispatcher, type DispatcherDeps } from './dispatcher.js';
import { AddressRefused, checkOutboundUrl, type OutboundGuard } from './guard.js';
import { channelSettings, targetOf } from './outbox.js';
import { CHANNEL_PROXY_SCHEMES, checkProxyUrl, ProxyRefused } from '../proxies/address.js';
import { createSender, type Sender } from './sender.js';
import { applyPatch, canonicalEventType, defaultSettings, limitProblems, subscribes, validateSettingsPatch, validateWebhookTarget, type NormalisedPatch } from './settings.js';

const REMOVED = "cancelled: the webhook was removed from the channel's settings";

/** The channel's webhook a delivery belongs to (same url and mode: same queue), if it still has it. */
function currentWebhook(settings: Settings, target: Pick<DeliveryTarget, 'url' | 'mode'>): Webhook | undefined {
  return settings.webhooks.find((w) => w.url === target.url && w.mode === target.mode);
}

export interface WebhookServiceDeps {
  store: Store;
  clock: Clock;
  channels: ChannelService;
  /** The SSRF guard every webhook URL and connection goes through. */
  guard: OutboundGuard;
  timeoutMs?: number;
  /** Share the outbox with other gateways' dispatchers (PostgreSQL). */
  claims?: DispatcherDeps['claims'];
  /** How long finished deliveries stay in the log (days). */
  retentionDays?: number;
  observe?: DispatcherDeps['observe'];
  onError?: (err: unknown) => void;
  /** Several nodes: hands a signal to the node running the channel; false when none took it. */
  relay?: (channelId: string, signal: OwnerSignal) => Promise<boolean>;
}

/** Settings, the outbox's dispatcher, the delivery log and replay: the webhook side of a channel. */
export class WebhookService {
  readonly sender: Sender;
  readonly dispatcher: Dispatcher;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.sender = createSender({ guard: deps.guard, timeoutMs: deps.timeoutMs });
    this.dispatcher = new Dispatcher({
      store: deps.store,
      clock: deps.clock,
      sender: this.sender,
      alert: (channelId, alert) => this.signal(channelId, { kind: 'alert', alert }),
      disableWebhook: (channelId, url, mode) => this.signal(channelId, { kind: 'disable_webhook', url, mode }),
      route: (delivery) => this.route(delivery),
      claims: deps.claims,
      observe: deps.observe,
      onError: deps.onError,
    });
  }

  /** A channel's settings, every default applied. */
  settings(channel: ChannelRuntime): Settings {
    return channelSettings(channel.record.settings);
  }

  /** `PATCH /settings`: validates, checks every webhook URL against the SSRF guard, saves. */
  async patch(channel: ChannelRuntime, json: unknown): Promise<UpdateSettingsAnswer> {
    const answer = applyPatch(this.settings(channel), await this.checkedPatch(json));
    if (answer.changes.length > 0) await this.save(channel, answer.after_update);
    return answer;
  }

  /** The settings a new channel is created with: the same checks as `PATCH /settings`, over the defaults. */
  async settingsForNewChannel(json: unknown): Promise<Settings> {
    return applyPatch(defaultSettings(), await this.checkedPatch(json)).after_update;
  }

  private async checkedPatch(json: unknown): Promise<NormalisedPatch> {
    const checked = validateSettingsPatch(json);
    if (!checked.ok) throw errors.badRequest(checked.problems.join('; '));
    const limits = limitProblems(checked.patch);
    if (limits.length > 0) throw errors.badRequest(limits.join('; '));
    for (const [i, webhook] of (checked.patch.webhooks ?? []).entries()) await this.guard(webhook.url, `webhooks[${i}].url`);
    if (checked.patch.proxy && checked.patch.proxy !== 'auto') await this.guardProxy(checked.patch.proxy);
    return checked.patch;
  }

  /** `GET /settings`: the settings, and the Whapi fields wagate accepts without acting on them. */
  settingsAnswer(channel: ChannelRuntime): SettingsAnswer {
    return { ...this.settings(channel), accepted_without_effect: [...SETTINGS_WITHOUT_EFFECT] };
  }

  /** `DELETE /settings`: back to the defaults (no webhooks); 409 when they already are. */
  async reset(channel: ChannelRuntime): Promise<{ success: true }> {
    const settings = defaultSettings();
    if (Value.Equal(this.settings(channel), settings)) throw errors.conflict('Settings already reset', 'every setting already has its default value');
    await this.save(channel, settings);
    return { success: true };
  }

  /**
   * Saves settings, then cancels the pending deliveries of every webhook they no longer hold.
   * Should the process stop in between, the dispatcher cancels each such delivery when its turn
   * comes (see route).
   */
  private async save(channel: ChannelRuntime, settings: Settings): Promise<void> {
    await this.deps.channels.saveSettings(channel, settings);
    const keep = settings.webhooks.map((w) => deliveryQueueKey(channel.id, w));
    const cancelled = await this.deps.store.cancelDeliveries({ channelId: channel.id, exceptQueues: keep }, REMOVED, this.deps.clock.now());
    if (cancelled > 0) this.dispatcher.wake();
  }

  /** `POST /settings/webhook_test`: one signed test delivery of the event's own shape (URL and headers checked as `PATCH /settings` checks them), answered with its outcome. */
  async test(channel: ChannelRuntime, json: WebhookTestRequest): Promise<WebhookTestAnswer> {
    const checked = validateWebhookTarget(json);
    if (!checked.ok) throw errors.badRequest(checked.problems.join('; '));
    const req = checked.target;
    await this.guard(req.url, 'url');
    const type = canonicalEventType(req.type) ?? 'channel';
    const now = this.deps.clock.now();
    const { method, payload } = webhookTestPayload(type, { health: channel.health(), user: channel.state.user ?? null, now: Math.floor(now / 1000) });
    const body = JSON.stringify({ ...payload, event: { type, event: method }, channel_id: channel.id, test: true });
    const id = `test_${now}`;
    const { ok, ...result } = await this.sender.send({
      url: req.url,
      mode: req.mode,
      eventType: type,
      method,
      headers: req.headers ?? {},
      body,
      webhookId: id,
      timestampSeconds: Math.floor(now / 1000),
      secret: req.secret,
    });
    return { success: ok, ...result, webhook_id: id };
  }

  /** The delivery log, newest first. */
  deliveries(filter: DeliveryFilter, page: Page): Promise<DeliveryPage> {
    return this.deps.store.listDeliveries(filter, page);
  }

  /** How many days finished deliveries stay in the log before retention prunes them. */
  get retentionDays(): number {
    return this.deps.retentionDays ?? RETENTION_DEFAULTS.deliveriesDays;
  }

  /**
   * Queues fresh copies of deliveries of this channel, each to its webhook as the settings have
   * it now; 404 for ids that are not its own, 409 when a delivery's webhook was removed.
   */
  async replay(channel: ChannelRuntime, ids: number[]): Promise<Delivery[]> {
    const settings = this.settings(channel);
    const targets: DeliveryTarget[] = [];
    for (const id of ids) {
      const d = await this.deps.store.getDelivery(id);
      if (!d || d.channelId !== channel.id) throw errors.notFound(`delivery ${id} does not exist on this channel`);
      const webhook = currentWebhook(settings, d.target);
      if (!webhook) {
        throw errors.conflict(ERROR_MESSAGES.webhookGone, `delivery ${id} went to ${d.target.url} (mode ${d.target.mode}), which is no longer among this channel's webhooks`);
      }
      targets.push(targetOf(webhook, settings));
    }
    const copies = await this.deps.store.replayDeliveries(ids, this.deps.clock.now(), targets);
    this.dispatcher.wake();
    return copies;
  }

  /** Replays every delivery of this channel created in `[since, until)`, optionally of one status. */
  async replayRange(channel: ChannelRuntime, filter: Omit<DeliveryFilter, 'channelId'>, max: number): Promise<Delivery[]> {
    const { deliveries, total, totalCapped } = await this.deps.store.listDeliveries({ ...filter, channelId: channel.id }, { count: max, offset: 0 });
    if (totalCapped || total > max) throw errors.badRequest(`${totalCapped ? `more than ${total}` : total} deliveries match; narrow the range to at most ${max}`);
    // Oldest first, so the copies queue in event order; a removed webhook's deliveries have nowhere to go.
    const settings = this.settings(channel);
    const live = deliveries.filter((d) => currentWebhook(settings, d.target) !== undefined);
    return this.replay(channel, live.map((d) => d.id).reverse());
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.sender.close();
  }

  /** Where a delivery goes now: its webhook as the channel's settings hold it, or cancelled. */
  private route(d: DueDelivery): DeliveryTarget | { cancelled: string } {
    const channel = this.deps.channels.find(d.channelId);
    // A node may not have learnt yet of a channel another node created: its stored target goes.
    if (!channel) return this.deps.channels.isNode ? d.target : { cancelled: 'cancelled: the channel no longer exists' };
    const settings = this.settings(channel);
    const webhook = currentWebhook(settings, d.target);
    if (!webhook) return { cancelled: REMOVED };
    // A replay is an operator's explicit ask; an event the webhook stopped taking is not sent.
    if (d.replayOf === null && !subscribes(webhook, d.eventName)) {
      return { cancelled: `cancelled: the webhook no longer takes ${d.eventName}` };
    }
    return targetOf(webhook, settings);
  }

  /**
   * Carries out what the dispatcher found for a channel this node runs. A queue this node sends
   * may belong to a channel another node runs, whose events and settings only that node writes:
   * the signal goes there (WebhookServiceDeps.relay).
   */
  async applySignal(channelId: string, signal: OwnerSignal): Promise<void> {
    const channel = this.deps.channels.find(channelId);
    if (!channel) return;
    if (signal.kind === 'alert') {
      await channel.publish([{ name: 'alerts.post', payload: { alert: signal.alert } }]);
      return;
    }
    const settings = structuredClone(this.settings(channel));
    for (const w of settings.webhooks) if (w.url === signal.url && w.mode === signal.mode) w.disabled = true;
    await this.save(channel, settings);
  }

  /** Here, or relayed without holding the queue up (the owner may be moving: the relay looks again for a while). */
  private async signal(channelId: string, signal: OwnerSignal): Promise<void> {
    const { relay, channels, onError } = this.deps;
    if (!relay || channels.runsHere(channelId)) return this.applySignal(channelId, signal);
    void relay(channelId, signal).then(
      (taken) => taken || onError?.(new Error(`no node running channel ${channelId} took its ${signal.kind}`)),
      (err: unknown) => onError?.(err),
    );
  }

  /**
   * Refuses a proxy whose host the SSRF guard refuses, so the gateway never dials it on the
   * channel's behalf; a name that does not resolve yet passes (it is checked at every connection).
   */
  private async guardProxy(url: string): Promise<void> {
    try {
      await checkProxyUrl(url, this.deps.guard, CHANNEL_PROXY_SCHEMES);
    } catch (err) {
      if (err instanceof ProxyRefused) throw errors.badRequest(`proxy: ${err.message}`);
    }
  }

  /** Refuses a URL whose resolved addresses the SSRF guard refuses; a name that does not resolve yet passes (it is checked on every attempt). */
  private async guard(url: string, field: string): Promise<void> {
    try {
      await checkOutboundUrl(url, this.deps.guard);
    } catch (err) {
      if (err instanceof AddressRefused) throw errors.badRequest(`${field}: ${err.message}`);
    }
  }
}

