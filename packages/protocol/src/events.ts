import { Type, type Static } from '@sinclair/typebox';
import type { Health, QR, User } from './health.js';

/** Event types on the wire. The seed writes `channels`; Whapi's schema and wagate say `channel`. */
export const EVENT_TYPES = ['channel', 'users', 'messages', 'statuses', 'alerts'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const EVENT_METHODS = ['post', 'put', 'patch', 'delete'] as const;
export type EventMethod = (typeof EVENT_METHODS)[number];

/** Accepted spellings of a type in settings, mapped to the one stored and answered. */
export const EVENT_TYPE_ALIASES: Record<string, EventType> = { channels: 'channel' };

/** The events wagate emits, as `type.method` pairs (answered by `GET /settings/events`). */
export const EVENT_CATALOGUE: ReadonlyArray<{ type: EventType; method: EventMethod; description: string }> = [
  { type: 'channel', method: 'post', description: 'the channel status changed (Health)' },
  { type: 'channel', method: 'patch', description: 'a new QR code is available (QR)' },
  { type: 'users', method: 'post', description: 'an account was linked' },
  { type: 'users', method: 'delete', description: 'the account was unlinked or logged out' },
  { type: 'messages', method: 'post', description: 'a message arrived or was sent' },
  { type: 'messages', method: 'patch', description: 'a message was edited, reacted to, starred, pinned, marked read or deleted' },
  { type: 'statuses', method: 'post', description: 'a message was sent, delivered or read' },
  { type: 'alerts', method: 'post', description: 'flapping, a stuck start, a failing webhook, remediation and hand-overs' },
];

/** Types wagate emits that Whapi's event-type enum lacks: kept out of Whapi-typed answers. */
export const EXTENSION_EVENT_TYPES: readonly EventType[] = ['alerts'];

/** `GET /settings/events`: Whapi's types only, or with wagate's own (`extensions`). */
export function subscribableEvents(extensions: boolean): Array<{ type: EventType; method: EventMethod }> {
  return EVENT_CATALOGUE.filter((e) => extensions || !EXTENSION_EVENT_TYPES.includes(e.type)).map(({ type, method }) => ({ type, method }));
}

export const ALERT_KINDS = [
  'flapping',
  'stuck_init',
  'stuck_launch',
  'webhook_failing',
  'webhook_disabled',
  'remediation',
  'needs_attention',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** What remediation does about a channel. */
export const REMEDIATION_ACTIONS = ['restart', 'move_proxy', 'quarantine_proxy', 'none'] as const;
export type RemediationAction = (typeof REMEDIATION_ACTIONS)[number];

export const Alert = Type.Object({
  kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
  detail: Type.String(),
  at: Type.Integer({ description: 'unix seconds' }),
  webhook: Type.Optional(Type.String({ description: 'the webhook url, for webhook alerts' })),
  action: Type.Optional(Type.Union(REMEDIATION_ACTIONS.map((a) => Type.Literal(a)), { description: 'remediation: what was (or would be) done' })),
  reason: Type.Optional(Type.String({ description: 'remediation: what it answers (flapping, stuck_init, ...)' })),
  next: Type.Optional(Type.String({ description: 'remediation: what happens next' })),
  taken: Type.Optional(Type.Boolean({ description: 'remediation: false when the mode is alert and nothing was done' })),
  tried: Type.Optional(Type.Array(Type.String(), { description: 'needs_attention: every action taken before the hand-over' })),
});
export type Alert = Static<typeof Alert>;

/** The payload of each event, keyed by `type.method`. */
export interface EventPayloads {
  'channel.post': { health: Health };
  'channel.patch': { qr: QR };
  'users.post': { user: User };
  'users.delete': { user: User };
  'alerts.post': { alert: Alert };
  'messages.post': { messages: unknown[] };
  'messages.patch': { messages_updates: Array<{ id: string; before_update: unknown; after_update: unknown; changes: string[] }> };
  'statuses.post': { statuses: unknown[] };
}
export type EventName = keyof EventPayloads;

/** An event as the channel produces it, before it is wrapped for the wire. */
export interface ChannelEvent<N extends EventName = EventName> {
  name: N;
  payload: EventPayloads[N];
}

/** The wire envelope: the payload's keys, plus `event` and `channel_id`. */
export type EventEnvelope<N extends EventName = EventName> = EventPayloads[N] & {
  event: { type: EventType; event: EventMethod };
  channel_id: string;
};

/** Splits `type.method` into its parts. */
export function splitEventName(name: EventName): { type: EventType; method: EventMethod } {
  const [type, method] = name.split('.') as [EventType, EventMethod];
  return { type, method };
}

/** Wraps an event's payload in the wire envelope. */
export function envelope<N extends EventName>(channelId: string, event: ChannelEvent<N>): EventEnvelope<N> {
  const { type, method } = splitEventName(event.name);
  // Object.assign rather than a spread: on Node 20's V8 each key added after a spread costs
  // microseconds, and every event is wrapped. Same keys, same order.
  return Object.assign({}, event.payload, { event: { type, event: method }, channel_id: channelId }) as EventEnvelope<N>;
}
