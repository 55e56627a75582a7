/**
 * The client's only door to wagate's wire shapes (`@wagate/protocol`): every schema and type here
 * is imported or derived from there, never spelled again.
 *
 * Whapi.Cloud sends a little less than wagate guarantees (its `Health` has no required
 * `channel_id` or `version`, its messages come in many types, its statuses may lack
 * `recipient_id`), so the webhook schemas below relax wagate's with TypeBox's own combinators
 * (`Pick`, `Omit`, `Partial`, `Composite`): one source, two strictness levels.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Alert, ERROR_MESSAGES, EVENT_TYPE_ALIASES, Health, Message, MESSAGE_TYPES, QR, STATUS, StatusUpdate, User, type EventName, type MessageType, type StatusText } from '@wagate/protocol';

export { ERROR_MESSAGES, EVENT_TYPE_ALIASES, Message, STATUS };
export { EVENT_CATALOGUE, MESSAGE_STATUS, QR_STATUSES, normaliseChatId } from '@wagate/protocol';
export type { AlertKind, EventName, EventMethod, EventType, SendText, SentMessage, Chat, HistoryEntry, PairingCode, Profile, ErrorBody, StatusCode, StatusText } from '@wagate/protocol';
export type { Health, QR, User, Alert } from '@wagate/protocol';
export type { Settings, SettingsAnswer, SettingsPatch, UpdateSettingsAnswer, Webhook, WebhookInput, WebhookEvent as WebhookSubscription } from '@wagate/protocol';

const HEALTH_REQUIRED = ['start_at', 'uptime', 'status'] as const;
/** `Health` as either gateway sends it: Whapi requires only `start_at`, `uptime` and `status`. */
export const WireHealth = Type.Composite([Type.Pick(Health, HEALTH_REQUIRED), Type.Partial(Type.Omit(Health, HEALTH_REQUIRED))]);
export type WireHealth = Static<typeof WireHealth>;

const MESSAGE_REQUIRED = ['id', 'chat_id', 'from_me', 'timestamp'] as const;
/**
 * A message in `messages.post`: wagate sends text, media, locations and contacts (`Message`); Whapi
 * sends more types still, so `type` is any string here and the rest of `Message` is optional.
 * `isTextMessage` narrows to wagate's full text shape.
 */
type ContentType = Exclude<MessageType, 'text' | 'unknown'>;
/** The types whose content object has the type's name (`image`, `location`, ...); text is strict still. */
const MESSAGE_CONTENT = MESSAGE_TYPES.filter((t): t is ContentType => t !== 'text' && t !== 'unknown');
/** Whapi's content objects carry fields wagate does not send, and may lack some it always sends. */
const LooseContent = Type.Record(Type.String(), Type.Unknown());
export const WireMessage = Type.Composite([
  Type.Pick(Message, MESSAGE_REQUIRED),
  Type.Object({ type: Type.String() }),
  Type.Partial(Type.Omit(Message, [...MESSAGE_REQUIRED, 'type', ...MESSAGE_CONTENT])),
  Type.Partial(Type.Object(Object.fromEntries(MESSAGE_CONTENT.map((k) => [k, LooseContent])) as Record<ContentType, typeof LooseContent>)),
]);
export type WireMessage = Static<typeof WireMessage>;

/** A status in `statuses.post` (Whapi's `Status` may omit `recipient_id`). */
export const WireStatus = Type.Composite([Type.Omit(StatusUpdate, ['recipient_id']), Type.Partial(Type.Pick(StatusUpdate, ['recipient_id']))]);
export type WireStatus = Static<typeof WireStatus>;

/** The payload schema of every event wagate emits; `satisfies` fails the build if the protocol adds one. */
export const PAYLOAD_SCHEMAS = {
  'channel.post': Type.Object({ health: WireHealth }),
  'channel.patch': Type.Object({ qr: QR }),
  'users.post': Type.Object({ user: User }),
  'users.delete': Type.Object({ user: User }),
  'messages.post': Type.Object({ messages: Type.Array(WireMessage) }),
  'messages.patch': Type.Object({
    messages_updates: Type.Array(Type.Object({ id: Type.String(), before_update: WireMessage, after_update: WireMessage, changes: Type.Array(Type.String()) })),
  }),
  'statuses.post': Type.Object({ statuses: Type.Array(WireStatus) }),
  'alerts.post': Type.Object({ alert: Alert }),
} satisfies Record<EventName, unknown>;

/** The validated payload of each event, keyed by `type.method`. */
export type WebhookPayloads = { [N in EventName]: Static<(typeof PAYLOAD_SCHEMAS)[N]> };

/** The message that tells a 401 of a channel that is not AUTH from a 401 of a bad token. */
export const NEED_AUTHORIZATION: string = ERROR_MESSAGES.needChannelAuthorization;

/** Statuses in which sending works (SYNC_ERROR still sends: only reads are refused). */
export function canSendIn(status: StatusText | null): boolean {
  return status === 'AUTH' || status === 'SYNC_ERROR';
}

/** Whether a string is one of the status texts of the protocol's table. */
export function isStatusText(text: string): text is StatusText {
  return Object.hasOwn(STATUS, text);
}
