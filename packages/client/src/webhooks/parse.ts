import { Value } from '@sinclair/typebox/value';
import { EVENT_TYPE_ALIASES, Message, PAYLOAD_SCHEMAS, type EventMethod, type EventName, type EventType, type WebhookPayloads, type WireMessage } from '../protocol.js';

/** One event as delivered, with `name` (`type.method`) as the discriminant. */
export type WebhookEvent = {
  [N in EventName]: WebhookPayloads[N] & {
    name: N;
    event: { type: EventType; event: EventMethod };
    channel_id: string;
  };
}[EventName];

/** The event of one name: `WebhookEventOf<'channel.post'>` has `health`. */
export type WebhookEventOf<N extends EventName> = Extract<WebhookEvent, { name: N }>;

/** A payload that is not JSON, not an event envelope, or whose payload does not match its event. */
export class InvalidWebhookError extends Error {
  override readonly name = 'InvalidWebhookError';
  constructor(
    message: string,
    /** Where the payload went wrong, as `/path: reason` lines (at most 10). */
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length ? `${message}: ${problems.join('; ')}` : message);
  }
}

/** A well-formed envelope of an event this library does not model (e.g. Whapi's `chats.post`). */
export class UnsupportedWebhookError extends Error {
  override readonly name = 'UnsupportedWebhookError';
  constructor(
    /** The event as `type.method`, e.g. `chats.post`. */
    readonly event: string,
  ) {
    super(`unsupported webhook event ${event}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEventName = (name: string): name is EventName => Object.hasOwn(PAYLOAD_SCHEMAS, name);

/**
 * Validates a webhook body (raw text, bytes or parsed JSON) and returns it as a typed event.
 * Throws `InvalidWebhookError` for malformed payloads and `UnsupportedWebhookError` for
 * events outside wagate's catalogue. The seed's `channels` spelling is read as `channel`.
 */
export function parseWebhook(body: string | Uint8Array | object): WebhookEvent {
  const json = toJson(body);
  if (!isObject(json)) throw new InvalidWebhookError('a webhook body must be a JSON object');
  const event = json.event;
  if (!isObject(event) || typeof event.type !== 'string' || typeof event.event !== 'string') {
    throw new InvalidWebhookError('not a webhook envelope', ['/event: expected {type, event} strings']);
  }
  const channelId = json.channel_id;
  if (typeof channelId !== 'string') throw new InvalidWebhookError('not a webhook envelope', ['/channel_id: expected a string']);
  const type = EVENT_TYPE_ALIASES[event.type] ?? event.type;
  const name = `${type}.${event.event}`;
  if (!isEventName(name)) throw new UnsupportedWebhookError(name);
  const schema = PAYLOAD_SCHEMAS[name];
  if (!Value.Check(schema, json)) {
    const problems = [...Value.Errors(schema, json)].slice(0, 10).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new InvalidWebhookError(`invalid ${name} payload`, problems);
  }
  return { ...json, name, event: { type, event: event.event }, channel_id: channelId } as WebhookEvent;
}

/** Whether a message from `messages.post` is a text message in wagate's full shape. */
export function isTextMessage(message: WireMessage): message is WireMessage & Message & { type: 'text'; text: { body: string } } {
  return message.type === 'text' && message.text !== undefined && Value.Check(Message, message);
}

function toJson(body: string | Uint8Array | object): unknown {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return body;
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidWebhookError('a webhook body must be JSON', [(err as Error).message]);
  }
}
