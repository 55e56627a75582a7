import type { EventName, Settings, Webhook } from '@wagate/protocol';
import type { DeliveryTarget, OutboundEvent } from '../store/types.js';
import { matchingWebhooks, settingsFromStored } from './settings.js';

// Parsing settings on every event would dominate busy channels; the stored object is replaced
// (never mutated) when settings change, so its identity is a safe cache key.
const parsed = new WeakMap<object, Settings>();
/**
 * Settings by their stored text: a boot loads 10,000 channels, most with the same settings, each
 * its own object; parsing each anew was a third of loading them. Answers are never mutated.
 */
const byText = new Map<string, Settings>();
const BY_TEXT_MAX = 1000;

/** A channel's settings from the object the store keeps. */
export function channelSettings(stored: Record<string, unknown>): Settings {
  let settings = parsed.get(stored);
  if (!settings) {
    const text = JSON.stringify(stored);
    settings = byText.get(text);
    if (!settings) {
      settings = settingsFromStored(stored);
      if (byText.size >= BY_TEXT_MAX) byText.clear();
      byText.set(text, settings);
    }
    parsed.set(stored, settings);
  }
  return settings;
}

/** The delivery target of a webhook under the channel's retry settings. */
export function targetOf(webhook: Webhook, settings: Settings): DeliveryTarget {
  return {
    url: webhook.url,
    mode: webhook.mode,
    headers: { ...webhook.headers },
    secret: webhook.secret ?? null,
    maxAgeSeconds: webhook.webhook_max_age_seconds,
    ordered: webhook.ordered,
    backoffDelayMs: settings.callback_backoff_delay_ms,
    maxBackoffDelayMs: settings.max_callback_backoff_delay_ms,
  };
}

/**
 * The webhooks an event goes to. An alert about a webhook is not sent to that webhook: it is
 * failing, and a failure to deliver news of its failure must not raise another alert.
 */
export function deliveryTargets(stored: Record<string, unknown>, name: EventName, body: Record<string, unknown>): DeliveryTarget[] {
  const settings = channelSettings(stored);
  const about = name === 'alerts.post' ? (body.alert as { webhook?: string } | undefined)?.webhook : undefined;
  return matchingWebhooks(settings, name)
    .filter((w) => w.url !== about)
    .map((w) => targetOf(w, settings));
}

/** Attaches delivery targets to events about to be committed. */
export function withTargets(stored: Record<string, unknown>, events: OutboundEvent[]): OutboundEvent[] {
  // Object.assign, not a spread: keys added after a spread are slow on Node 20 (see pendingDelivery).
  return events.map((e) => Object.assign({}, e, { targets: deliveryTargets(stored, e.name, e.body) }));
}
