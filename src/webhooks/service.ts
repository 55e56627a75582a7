import type { ChannelService } from '../channel/service.js';
import type { ChannelRuntime } from '../channel/runtime.js';
import type { Clock } from '../channel/clock.js';
import { envelope, errors, type Alert } from '../protocol/index.js';
import type { Settings, UpdateSettingsAnswer, WebhookTestRequest } from '../protocol/settings.js';
import type { Delivery, DeliveryFilter, Page, Store } from '../store/types.js';
import { Dispatcher, type DispatcherDeps } from './dispatcher.js';
import { resolveAndCheck, WebhookAddressRefused, type LookupAll } from './guard.js';
import { channelSettings } from './outbox.js';
import { createSender, type DeliveryResult, type Sender } from './sender.js';
import { applyPatch, canonicalEventType, defaultSettings, limitProblems, validateSettingsPatch, type NormalisedPatch } from './settings.js';

export interface WebhookServiceDeps {
  store: Store;
  clock: Clock;
  channels: ChannelService;
  allowPrivate: boolean;
  timeoutMs?: number;
  lookup?: LookupAll;
  observe?: DispatcherDeps['observe'];
  onError?: (err: unknown) => void;
}

/** Settings, the outbox's dispatcher, the delivery log and replay: the webhook side of a channel. */
export class WebhookService {
  readonly sender: Sender;
  readonly dispatcher: Dispatcher;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.sender = createSender({ allowPrivate: deps.allowPrivate, timeoutMs: deps.timeoutMs, lookup: deps.lookup });
    this.dispatcher = new Dispatcher({
      store: deps.store,
      clock: deps.clock,
      sender: this.sender,
      alert: (channelId, alert) => this.alert(channelId, alert),
      disableWebhook: (channelId, url, mode) => this.disableWebhook(channelId, url, mode),
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
    if (answer.changes.length > 0) await this.deps.channels.saveSettings(channel, answer.after_update);
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
    return checked.patch;
  }

  /** `DELETE /settings`: back to the defaults (no webhooks). */
  async reset(channel: ChannelRuntime): Promise<Settings> {
    const settings = defaultSettings();
    await this.deps.channels.saveSettings(channel, settings);
    return settings;
  }

  /** `POST /settings/webhook_test`: one signed test delivery, answered with its outcome. */
  async test(channel: ChannelRuntime, req: WebhookTestRequest): Promise<DeliveryResult & { webhook_id: string }> {
    await this.guard(req.url, 'url');
    const type = canonicalEventType(req.type) ?? 'channel';
    const now = this.deps.clock.now();
    const body = JSON.stringify({ ...envelope(channel.id, { name: 'channel.post', payload: { health: channel.health() } }), event: { type, event: 'post' }, test: true });
    const id = `test_${now}`;
    const result = await this.sender.send({
      url: req.url,
      mode: req.mode,
      eventType: type,
      method: 'post',
      headers: req.headers ?? {},
      body,
      webhookId: id,
      timestampSeconds: Math.floor(now / 1000),
      secret: req.secret,
    });
    return { ...result, webhook_id: id };
  }

  /** The delivery log, newest first. */
  deliveries(filter: DeliveryFilter, page: Page): Promise<{ deliveries: Delivery[]; total: number }> {
    return this.deps.store.listDeliveries(filter, page);
  }

  /** Queues fresh copies of deliveries of this channel; 404 for ids that are not its own. */
  async replay(channel: ChannelRuntime, ids: number[]): Promise<Delivery[]> {
    for (const id of ids) {
      const d = await this.deps.store.getDelivery(id);
      if (!d || d.channelId !== channel.id) throw errors.notFound(`delivery ${id} does not exist on this channel`);
    }
    const copies = await this.deps.store.replayDeliveries(ids, this.deps.clock.now());
    this.dispatcher.wake();
    return copies;
  }

  /** Replays every delivery of this channel created in `[since, until)`, optionally of one status. */
  async replayRange(channel: ChannelRuntime, filter: Omit<DeliveryFilter, 'channelId'>, max: number): Promise<Delivery[]> {
    const { deliveries, total } = await this.deps.store.listDeliveries({ ...filter, channelId: channel.id }, { count: max, offset: 0 });
    if (total > max) throw errors.badRequest(`${total} deliveries match; narrow the range to at most ${max}`);
    // Oldest first, so the copies queue in event order.
    return this.replay(channel, deliveries.map((d) => d.id).reverse());
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.sender.close();
  }

  private async alert(channelId: string, alert: Alert): Promise<void> {
    const channel = this.deps.channels.find(channelId);
    await channel?.publish([{ name: 'alerts.post', payload: { alert } }]);
  }

  private async disableWebhook(channelId: string, url: string, mode: string): Promise<void> {
    const channel = this.deps.channels.find(channelId);
    if (!channel) return;
    const settings = structuredClone(this.settings(channel));
    for (const w of settings.webhooks) if (w.url === url && w.mode === mode) w.disabled = true;
    await this.deps.channels.saveSettings(channel, settings);
  }

  /** Refuses a URL whose resolved addresses the SSRF guard refuses; a name that does not resolve yet passes (it is checked on every attempt). */
  private async guard(url: string, field: string): Promise<void> {
    try {
      await resolveAndCheck(url, { allowPrivate: this.deps.allowPrivate }, this.deps.lookup);
    } catch (err) {
      if (err instanceof WebhookAddressRefused) throw errors.badRequest(`${field}: ${err.message}`);
    }
  }
}

