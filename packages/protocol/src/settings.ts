import { Type, type Static, type TLiteral } from '@sinclair/typebox';
import { EVENT_METHODS, EVENT_TYPES, EVENT_TYPE_ALIASES } from './events.js';

/** Whapi's bounds, plus wagate's extension `send_hold_ms`. */
/** A Standard Webhooks signing key: `whsec_` and base64. */
export const WEBHOOK_SECRET_PATTERN = '^whsec_[A-Za-z0-9+/]+={0,2}$';

export const SETTINGS_BOUNDS = {
  callback_backoff_delay_ms: { minimum: 3000, maximum: 15000 },
  max_callback_backoff_delay_ms: { minimum: 600000, maximum: 3600000 },
  send_hold_ms: { minimum: 0, maximum: 60000 },
  webhook_max_age_seconds: { minimum: 15, maximum: 172800 },
  webhook_headers: { maxProperties: 5 },
  /**
   * wagate's own caps (Whapi documents none): webhooks per channel, and the bytes of one
   * webhook's header names and values together. Every event costs one delivery per webhook.
   */
  webhooks_per_channel: { maxItems: 10 },
  webhook_headers_bytes: { maximum: 8192 },
} as const;

/**
 * Types Whapi knows but wagate never emits. They are accepted (and stored) so that settings
 * written for Whapi.Cloud still apply unchanged; such a subscription simply never fires.
 */
export const WHAPI_ONLY_EVENT_TYPES = [
  'chats',
  'contacts',
  'groups',
  'presences',
  'calls',
  'labels',
  'service',
] as const;

/** Every type a webhook may subscribe to, in its stored spelling. */
export const WEBHOOK_EVENT_TYPES = [...EVENT_TYPES, ...WHAPI_ONLY_EVENT_TYPES] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Other accepted spellings, mapped to the stored one: the seed's `channels`, and the singular
 * names Whapi's own documentation still uses in its examples and marks deprecated.
 */
export const WEBHOOK_EVENT_TYPE_ALIASES: Readonly<Record<string, WebhookEventType>> = {
  ...EVENT_TYPE_ALIASES,
  message: 'messages',
  ack: 'statuses',
  chat: 'chats',
  status: 'channel',
};

export const WEBHOOK_MODES = ['body', 'path', 'method'] as const;
export type WebhookMode = (typeof WEBHOOK_MODES)[number];

const literals = <T extends string>(values: readonly T[]): TLiteral<T>[] => values.map((v) => Type.Literal(v));

const EventTypeStored = Type.Union(literals(WEBHOOK_EVENT_TYPES));
const EventTypeAccepted = Type.Union(
  literals([...WEBHOOK_EVENT_TYPES, ...Object.keys(WEBHOOK_EVENT_TYPE_ALIASES)]),
);
const EventMethod = Type.Union(literals(EVENT_METHODS));
export const WebhookModeSchema = Type.Union(literals(WEBHOOK_MODES), { default: 'body' });

// Header names must be HTTP tokens and values must not smuggle a line break; checked in code
// (webhooks/settings.ts) so the message can say which header is wrong.
const WebhookHeaders = Type.Record(Type.String(), Type.String({ maxLength: 4096 }), {
  maxProperties: SETTINGS_BOUNDS.webhook_headers.maxProperties,
});

/**
 * Header names a webhook may not configure: the Standard Webhooks headers wagate sets on every
 * attempt, and framing headers that belong to HTTP itself. (`content-type` is accepted, as
 * Whapi's documentation suggests setting it, but the body is always sent as application/json.)
 */
export const WEBHOOK_RESERVED_HEADERS: readonly string[] = [
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
];

/** A subscription as stored and answered. */
export const WebhookEvent = Type.Object(
  { type: EventTypeStored, method: EventMethod },
  { additionalProperties: false },
);
export type WebhookEvent = Static<typeof WebhookEvent>;

/** A subscription as accepted: alias spellings allowed, `method` defaults to `post`. */
export const WebhookEventInput = Type.Object(
  { type: EventTypeAccepted, method: Type.Optional(EventMethod) },
  { additionalProperties: false },
);
export type WebhookEventInput = Static<typeof WebhookEventInput>;

/** The events a webhook gets when its `events` field is absent (see webhooks/settings.ts). */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = [{ type: 'messages', method: 'post' }];

export const WEBHOOK_DEFAULTS = {
  mode: 'body',
  headers: {},
  webhook_max_age_seconds: SETTINGS_BOUNDS.webhook_max_age_seconds.maximum,
  ordered: true,
} as const;

const webhookFields = {
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'http or https URL' }),
  mode: WebhookModeSchema,
  headers: WebhookHeaders,
  webhook_max_age_seconds: Type.Integer({
    ...SETTINGS_BOUNDS.webhook_max_age_seconds,
    default: WEBHOOK_DEFAULTS.webhook_max_age_seconds,
  }),
  secret: Type.String({
    pattern: WEBHOOK_SECRET_PATTERN,
    description: 'extension: Standard Webhooks signing key',
  }),
  ordered: Type.Boolean({ default: true, description: 'extension: deliver in event order' }),
  disabled: Type.Boolean({ description: 'extension: set when the receiver answered 410 Gone; send false to enable again' }),
};

/** A webhook as accepted in `PATCH /settings`: only `url` is required. */
export const WebhookInput = Type.Object(
  {
    url: webhookFields.url,
    events: Type.Optional(Type.Array(WebhookEventInput, { maxItems: 100 })),
    mode: Type.Optional(webhookFields.mode),
    headers: Type.Optional(webhookFields.headers),
    webhook_max_age_seconds: Type.Optional(webhookFields.webhook_max_age_seconds),
    secret: Type.Optional(webhookFields.secret),
    ordered: Type.Optional(webhookFields.ordered),
    disabled: Type.Optional(webhookFields.disabled),
  },
  { additionalProperties: false },
);
export type WebhookInput = Static<typeof WebhookInput>;

/** A webhook as stored and answered: every default applied. */
export const Webhook = Type.Object(
  {
    url: webhookFields.url,
    events: Type.Array(WebhookEvent),
    mode: webhookFields.mode,
    headers: webhookFields.headers,
    webhook_max_age_seconds: webhookFields.webhook_max_age_seconds,
    secret: Type.Optional(webhookFields.secret),
    ordered: webhookFields.ordered,
    disabled: Type.Optional(webhookFields.disabled),
  },
  { additionalProperties: false },
);
export type Webhook = Static<typeof Webhook>;

/** What remediation does with a misbehaving channel (extension). */
export const REMEDIATION_MODES = ['off', 'alert', 'act'] as const;
export type RemediationMode = (typeof REMEDIATION_MODES)[number];

/** A channel's `remediation` setting; absent fields take the gateway's defaults. */
export const RemediationSetting = Type.Object(
  {
    mode: Type.Optional(Type.Union(literals(REMEDIATION_MODES), { description: 'off | alert | act (gateway default: WAGATE_REMEDIATION)' })),
    max_actions_per_hour: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'the cap; one more action is handed over as needs_attention' })),
  },
  { additionalProperties: false, description: 'extension' },
);
export type RemediationSetting = Static<typeof RemediationSetting>;

const settingsFields = {
  callback_backoff_delay_ms: Type.Integer(SETTINGS_BOUNDS.callback_backoff_delay_ms),
  max_callback_backoff_delay_ms: Type.Integer(SETTINGS_BOUNDS.max_callback_backoff_delay_ms),
  callback_persist: Type.Boolean(),
  // The full check (scheme, host, port) is in code; the pattern only keeps the schema honest.
  proxy: Type.String({ maxLength: 2048, pattern: '^(socks5h?://.+|auto)?$', description: 'socks5 URL, empty, or "auto": a proxy from the pool (extension)' }),
  send_hold_ms: Type.Integer({ ...SETTINGS_BOUNDS.send_hold_ms, description: 'extension' }),
};

/**
 * Fields of Whapi's `Settings` that wagate accepts, so that settings written for Whapi.Cloud
 * apply unchanged, but does not act on: they are neither stored nor answered, and
 * `GET /settings` lists them in `accepted_without_effect`.
 */
export const SETTINGS_WITHOUT_EFFECT = ['media', 'mobile_proxy', 'offline_mode', 'full_history', 'on_call_pager', 'pass_through', 'sent_status'] as const;

const MEDIA_TYPES_AUTO_DOWNLOAD = ['image', 'audio', 'voice', 'video', 'document', 'sticker'] as const;
const withoutEffectFields = {
  media: Type.Object(
    {
      auto_download: Type.Optional(Type.Array(Type.Union(literals(MEDIA_TYPES_AUTO_DOWNLOAD)), { maxItems: 6 })),
      init_avatars: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  mobile_proxy: Type.String({ maxLength: 2048 }),
  offline_mode: Type.Boolean(),
  full_history: Type.Boolean(),
  on_call_pager: Type.String({ maxLength: 64 }),
  pass_through: Type.Boolean(),
  sent_status: Type.Boolean(),
} satisfies Record<(typeof SETTINGS_WITHOUT_EFFECT)[number], unknown>;

/**
 * The body of `PATCH /settings`: every field optional, absent ones unchanged. No `default`
 * keywords at this level: a validator that fills defaults would turn a partial patch into a reset.
 */
export const SettingsPatch = Type.Object(
  {
    callback_backoff_delay_ms: Type.Optional(settingsFields.callback_backoff_delay_ms),
    max_callback_backoff_delay_ms: Type.Optional(settingsFields.max_callback_backoff_delay_ms),
    callback_persist: Type.Optional(settingsFields.callback_persist),
    proxy: Type.Optional(settingsFields.proxy),
    send_hold_ms: Type.Optional(settingsFields.send_hold_ms),
    remediation: Type.Optional(RemediationSetting),
    webhooks: Type.Optional(Type.Array(WebhookInput)),
    media: Type.Optional(withoutEffectFields.media),
    mobile_proxy: Type.Optional(withoutEffectFields.mobile_proxy),
    offline_mode: Type.Optional(withoutEffectFields.offline_mode),
    full_history: Type.Optional(withoutEffectFields.full_history),
    on_call_pager: Type.Optional(withoutEffectFields.on_call_pager),
    pass_through: Type.Optional(withoutEffectFields.pass_through),
    sent_status: Type.Optional(withoutEffectFields.sent_status),
  },
  { additionalProperties: false },
);
export type SettingsPatch = Static<typeof SettingsPatch>;

/** A channel's settings as stored and answered by `GET /settings`. */
export const Settings = Type.Object(
  {
    callback_backoff_delay_ms: settingsFields.callback_backoff_delay_ms,
    max_callback_backoff_delay_ms: settingsFields.max_callback_backoff_delay_ms,
    callback_persist: settingsFields.callback_persist,
    proxy: settingsFields.proxy,
    send_hold_ms: settingsFields.send_hold_ms,
    remediation: Type.Optional(RemediationSetting),
    webhooks: Type.Array(Webhook),
  },
  { additionalProperties: false },
);
export type Settings = Static<typeof Settings>;
export type SettingsField = keyof Settings;

/** The answer of `GET /settings`: the settings, and the Whapi fields accepted without effect (extension). */
export const SettingsAnswer = Type.Object(
  {
    ...Settings.properties,
    accepted_without_effect: Type.Array(Type.String(), { description: 'extension: Whapi settings fields wagate accepts but does not act on' }),
  },
  { additionalProperties: false },
);
export type SettingsAnswer = Static<typeof SettingsAnswer>;

/** Values of a channel that never set anything (and after `DELETE /settings`). */
export const SETTINGS_DEFAULTS: Readonly<Settings> = {
  callback_backoff_delay_ms: 3000,
  max_callback_backoff_delay_ms: 900000,
  callback_persist: true,
  proxy: '',
  send_hold_ms: 10000,
  webhooks: [],
};

/** The answer of `PATCH /settings`. */
export const UpdateSettingsAnswer = Type.Object({
  before_update: Settings,
  after_update: Settings,
  changes: Type.Array(Type.String()),
});
export type UpdateSettingsAnswer = Static<typeof UpdateSettingsAnswer>;

/** The answer of `GET /settings/events`. */
export const SettingsEventsAnswer = Type.Array(WebhookEvent);

/** `GET /settings/events?extensions=true` adds the events Whapi does not know (`alerts`). */
export const SettingsEventsQuery = Type.Object({
  extensions: Type.Optional(Type.Boolean({ default: false, description: "extension: also list wagate's own events (alerts)" })),
  token: Type.Optional(Type.String()),
});
export type SettingsEventsAnswer = Static<typeof SettingsEventsAnswer>;

/** The body of `POST /settings/webhook_test`. */
export const WebhookTestRequest = Type.Object(
  {
    url: webhookFields.url,
    type: EventTypeAccepted,
    mode: webhookFields.mode,
    headers: Type.Optional(webhookFields.headers),
    secret: Type.Optional(webhookFields.secret),
  },
  { additionalProperties: false },
);
export type WebhookTestRequest = Static<typeof WebhookTestRequest>;

/** The answer of `POST /settings/webhook_test`: Whapi's `ResponseSuccess`, with the attempt's detail (extension). */
export const WebhookTestAnswer = Type.Object({
  success: Type.Boolean(),
  webhook_id: Type.String({ description: 'extension: the webhook-id header sent' }),
  status: Type.Optional(Type.Integer({ description: "extension: the receiver's HTTP status" })),
  error: Type.Optional(Type.String({ description: 'extension: why the attempt failed' })),
  gone: Type.Boolean({ description: 'extension: the receiver answered 410 Gone' }),
  retryAfterMs: Type.Optional(Type.Integer()),
  durationMs: Type.Number({ description: 'extension: how long the attempt took' }),
});
export type WebhookTestAnswer = Static<typeof WebhookTestAnswer>;
