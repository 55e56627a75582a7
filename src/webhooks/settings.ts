import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { splitEventName, type EventName, DEFAULT_WEBHOOK_EVENTS, SETTINGS_BOUNDS, SETTINGS_DEFAULTS, SETTINGS_WITHOUT_EFFECT, SettingsPatch, WEBHOOK_DEFAULTS, WEBHOOK_EVENT_TYPES, WEBHOOK_EVENT_TYPE_ALIASES, WEBHOOK_RESERVED_HEADERS, type Settings, type SettingsField, type UpdateSettingsAnswer, type Webhook, type WebhookEvent, type WebhookInput } from '@wagate/protocol';
import { secretProblem } from './signing.js';
import { CHANNEL_PROXY_SCHEMES, proxyUrlProblem } from '../proxies/address.js';

/** A validated patch: aliases resolved and every webhook complete, ready for `applyPatch`. */
export type NormalisedPatch = Partial<Settings>;

export type PatchValidation = { ok: true; patch: NormalisedPatch } | { ok: false; problems: string[] };

/** The fields a webhook and a `webhook_test` request share, checked by the same rules. */
type WebhookTarget = Pick<WebhookInput, 'url' | 'headers' | 'secret'>;

const FIELD_ORDER: readonly SettingsField[] = [
  'callback_backoff_delay_ms',
  'max_callback_backoff_delay_ms',
  'callback_persist',
  'proxy',
  'send_hold_ms',
  'remediation',
  'webhooks',
];

// RFC 9110 token: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// What HTTP can carry in a header value (RFC 9110 field-value; Node and undici refuse the rest,
// so a stored value outside it would fail every delivery). A CR or LF would start a new header.
const HEADER_VALUE_UNSENDABLE = /[^\t\x20-\x7e\x80-\xff]/u;
// The URL parser drops tabs and newlines anywhere and spaces at the ends: what is stored is
// what is sent, so none of them may be in a URL (after trimming the ends).
const URL_UNSENDABLE = /[\s\p{Cc}]/u;

/** The settings of a channel that never changed them. */
export function defaultSettings(): Settings {
  return structuredClone(SETTINGS_DEFAULTS) as Settings;
}

/** Checks a `PATCH /settings` body; answers the normalised patch or every problem, each naming its path. */
export function validateSettingsPatch(json: unknown): PatchValidation {
  const problems = structuralProblems(json);
  if (problems.length > 0) return { ok: false, problems };
  const given = json as SettingsPatch;
  // Trimmed on input only: a stored URL is the key of its deliveries' queue, so it stays as saved.
  const patch = given.webhooks ? { ...given, webhooks: given.webhooks.map((w) => ({ ...w, url: w.url.trim() })) } : given;
  const semantic = semanticProblems(patch);
  if (semantic.length > 0) return { ok: false, problems: semantic };
  return { ok: true, patch: normalise(patch) };
}

/**
 * wagate's caps on what a patch may set: webhooks per channel and the size of each webhook's
 * headers. Checked on input only, so settings stored before a cap existed still load.
 */
export function limitProblems(patch: NormalisedPatch): string[] {
  const problems: string[] = [];
  const { maxItems } = SETTINGS_BOUNDS.webhooks_per_channel;
  const webhooks = patch.webhooks ?? [];
  if (webhooks.length > maxItems) problems.push(`webhooks: at most ${maxItems} webhooks per channel, got ${webhooks.length}`);
  webhooks.forEach((w, i) => {
    const size = headersSizeProblem(w.headers);
    if (size) problems.push(`webhooks[${i}].headers: ${size}`);
  });
  return problems;
}

function headersSizeProblem(headers: Record<string, string>): string | null {
  const { maximum } = SETTINGS_BOUNDS.webhook_headers_bytes;
  const bytes = Object.entries(headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  return bytes > maximum ? `at most ${maximum} bytes of names and values together, got ${bytes}` : null;
}

/** Checks a webhook's URL, secret and headers (a `webhook_test` request) by the rules of `PATCH /settings`; answers it with its URL trimmed, or every problem. */
export function validateWebhookTarget<T extends WebhookTarget>(target: T): { ok: true; target: T } | { ok: false; problems: string[] } {
  const trimmed = { ...target, url: target.url.trim() };
  const problems = targetProblems(trimmed, '');
  const size = headersSizeProblem(trimmed.headers ?? {});
  if (size) problems.push(`headers: ${size}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, target: trimmed };
}

/** Whether HTTP can send this header value (visible ASCII, spaces, tabs and Latin-1). */
export function isSendableHeaderValue(value: string): boolean {
  return !HEADER_VALUE_UNSENDABLE.test(value);
}

/** Applies a validated patch; answers Whapi's `{before_update, after_update, changes}`. */
export function applyPatch(current: Settings, patch: NormalisedPatch): UpdateSettingsAnswer {
  const before = structuredClone(current);
  const after = { ...structuredClone(current), ...structuredClone(patch) } as Settings;
  const changes = FIELD_ORDER.filter((field) => !Value.Equal(before[field], after[field]));
  return { before_update: before, after_update: after, changes };
}

/**
 * Reads settings kept by the store (possibly written by an older wagate) into full settings.
 * Only their shape is checked: they passed the rules of their day when saved, and a rule added
 * since must not make a channel unreadable (the sender skips a header value it cannot send).
 */
export function settingsFromStored(stored: unknown): Settings {
  const problems = structuralProblems(stored ?? {});
  if (problems.length > 0) throw new Error(`stored settings are invalid: ${problems.join('; ')}`);
  return applyPatch(defaultSettings(), normalise((stored ?? {}) as SettingsPatch)).after_update;
}

/**
 * The webhooks subscribed to an event. A webhook whose `events` list is empty receives nothing:
 * Whapi only sends what was picked, and an empty list is how one mutes a webhook without losing
 * it. (A webhook saved without `events` got DEFAULT_WEBHOOK_EVENTS when it was validated.)
 */
export function matchingWebhooks(settings: Settings, eventName: EventName): Webhook[] {
  return settings.webhooks.filter((w) => !w.disabled && subscribes(w, eventName));
}

/** Whether a webhook's `events` list takes this event. */
export function subscribes(webhook: Webhook, eventName: EventName): boolean {
  const { type, method } = splitEventName(eventName);
  return webhook.events.some((e) => e.type === type && e.method === method);
}

/** Resolves an accepted event type spelling (`channels`, `ack`, ...) to the stored one. */
export function canonicalEventType(type: string): WebhookEvent['type'] | undefined {
  if ((WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) return type as WebhookEvent['type'];
  return WEBHOOK_EVENT_TYPE_ALIASES[type];
}

function normalise(patch: SettingsPatch): NormalisedPatch {
  const { webhooks, ...fields } = patch;
  // Whapi's fields without effect in wagate are accepted and dropped (SETTINGS_WITHOUT_EFFECT).
  const scalars = Object.fromEntries(Object.entries(fields).filter(([k]) => !(SETTINGS_WITHOUT_EFFECT as readonly string[]).includes(k)));
  const out: NormalisedPatch = { ...scalars };
  if (webhooks) out.webhooks = webhooks.map(normaliseWebhook);
  return out;
}

function normaliseWebhook(input: WebhookInput): Webhook {
  const webhook: Webhook = {
    url: input.url,
    // Whapi's schema gives `[{type: "message", method: "put"}]` as the default: the deprecated
    // spelling from when every event used `put`. Its meaning today is "new messages".
    events: input.events ? normaliseEvents(input.events) : structuredClone([...DEFAULT_WEBHOOK_EVENTS]),
    mode: input.mode ?? WEBHOOK_DEFAULTS.mode,
    headers: { ...(input.headers ?? WEBHOOK_DEFAULTS.headers) },
    webhook_max_age_seconds: input.webhook_max_age_seconds ?? WEBHOOK_DEFAULTS.webhook_max_age_seconds,
    ordered: input.ordered ?? WEBHOOK_DEFAULTS.ordered,
  };
  if (input.secret !== undefined) webhook.secret = input.secret;
  if (input.disabled) webhook.disabled = true;
  return webhook;
}

function normaliseEvents(events: NonNullable<WebhookInput['events']>): WebhookEvent[] {
  const seen = new Set<string>();
  const out: WebhookEvent[] = [];
  for (const e of events) {
    // Whapi's schema does not require `method`; `post` (a new object) is the common case.
    const event = { type: canonicalEventType(e.type)!, method: e.method ?? 'post' };
    const key = `${event.type}.${event.method}`;
    if (!seen.has(key)) out.push(event);
    seen.add(key);
  }
  return out;
}

function semanticProblems(patch: SettingsPatch): string[] {
  const problems: string[] = [];
  if (patch.proxy) {
    const problem = proxyProblem(patch.proxy);
    if (problem) problems.push(`proxy: ${problem}`);
  }
  patch.webhooks?.forEach((w, i) => problems.push(...targetProblems(w, `webhooks[${i}].`)));
  return problems;
}

/** The problems of a webhook's URL (already trimmed), secret and headers, each path under `at`. */
function targetProblems(target: WebhookTarget, at: string): string[] {
  const problems: string[] = [];
  const url = urlProblem(target.url);
  if (url) problems.push(`${at}url: ${url}`);
  if (target.secret !== undefined) {
    const secret = secretProblem(target.secret);
    if (secret) problems.push(`${at}secret: ${secret}`);
  }
  problems.push(...headerProblems(target.headers ?? {}).map((p) => `${at}headers${p}`));
  return problems;
}

function urlProblem(raw: string): string | null {
  if (raw === '') return 'must not be empty';
  const unsendable = URL_UNSENDABLE.exec(raw);
  if (unsendable) return `must not contain ${describeChar(unsendable[0])} (at position ${unsendable.index})`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not a valid URL: "${raw}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be http or https, got "${url.protocol}"`;
  if (!url.hostname) return 'has no host';
  // Credentials in a URL end up in listings and logs; the webhook's headers are the place.
  if (url.username || url.password) return 'must not contain credentials; use headers (e.g. Authorization)';
  return null;
}

function proxyProblem(raw: string): string | null {
  if (raw === 'auto') return null;
  return proxyUrlProblem(raw, CHANNEL_PROXY_SCHEMES);
}

function headerProblems(headers: Record<string, string>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) problems.push(`: invalid header name "${name}"`);
    else if (WEBHOOK_RESERVED_HEADERS.includes(lower)) problems.push(`.${name}: set by wagate, cannot be configured`);
    else if (seen.has(lower)) problems.push(`.${name}: given twice (header names are case-insensitive)`);
    else {
      const unsendable = HEADER_VALUE_UNSENDABLE.exec(value);
      if (unsendable) {
        const what = describeChar(unsendable[0]);
        problems.push(`.${name}: value contains ${what} at position ${unsendable.index}; HTTP header values may hold only visible ASCII, spaces, tabs and Latin-1 characters`);
      }
    }
    seen.add(lower);
  }
  return problems;
}

/** A character named so that an invisible one can be seen: `a space`, `U+0001`, `"€" (U+20AC)`. */
function describeChar(char: string): string {
  const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (char === ' ') return 'a space';
  return /[\p{L}\p{N}\p{P}\p{S}]/u.test(char) ? `"${char}" (${code})` : code;
}

function structuralProblems(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['settings: must be a JSON object'];
  const byPath = new Map<string, string>();
  for (const error of Value.Errors(SettingsPatch, json)) {
    // One message per path: a missing field also fails its type check, a bad union its members.
    if (!byPath.has(error.path)) byPath.set(error.path, describe(error));
  }
  return [...byPath.entries()].map(([path, message]) => `${dotted(path)}: ${message}`);
}

/** `/webhooks/0/events/1/type` → `webhooks[0].events[1].type`. */
function dotted(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts.length === 0) return 'settings';
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describe(error: ValueError): string {
  const schema = error.schema as Record<string, unknown>;
  const field = error.path.split('/').pop() ?? '';
  const between = `must be between ${String(schema.minimum)} and ${String(schema.maximum)}, got ${String(error.value)}`;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field';
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
      return between;
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.Array:
      return 'must be an array';
    case ValueErrorType.ObjectMaxProperties:
      return field === 'headers' ? `at most ${String(schema.maxProperties)} headers` : error.message;
    case ValueErrorType.ArrayMaxItems:
      return `at most ${String(schema.maxItems)} items`;
    case ValueErrorType.StringMinLength:
      return 'must not be empty';
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(schema.maxLength)} characters`;
    case ValueErrorType.StringPattern:
      if (field === 'proxy') return 'must be a socks5:// URL, "auto" or empty';
      if (field === 'secret') return 'must be "whsec_" followed by base64';
      return error.message;
    case ValueErrorType.Union:
      return describeChoice(field, error);
    default:
      return error.message;
  }
}

function describeChoice(field: string, error: ValueError): string {
  const options = ((error.schema as { anyOf?: Array<{ const?: unknown }> }).anyOf ?? []).map((s) => s.const);
  const got = JSON.stringify(error.value);
  if (field === 'type') return `unknown event type ${got} (expected one of ${WEBHOOK_EVENT_TYPES.join(', ')})`;
  if (field === 'method') return `unknown event method ${got} (expected one of ${options.join(', ')})`;
  return `must be one of ${options.join(', ')}; got ${got}`;
}
