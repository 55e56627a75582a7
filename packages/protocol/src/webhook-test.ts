import type { EventMethod } from './events.js';
import type { Health, User } from './health.js';
import type { Message, StatusUpdate } from './messages.js';
import type { WebhookEvent } from './settings.js';

/** What a test payload may borrow from the channel it is sent for. */
export interface TestPayloadContext {
  health: Health;
  user: User | null;
  /** unix seconds */
  now: number;
}

const SAMPLE_CHAT = '61371989950@s.whatsapp.net';
const SAMPLE_MESSAGE_ID = 'wagateTestMessage-0000test';

/**
 * The payload `POST /settings/webhook_test` sends for an event type: the keys a real event of
 * that type carries (Whapi's `WebhookPayload`), filled with a sample, so a receiver's parser is
 * tested on the shape it will really get. Whapi-only types get their key with an empty list.
 */
export function webhookTestPayload(type: WebhookEvent['type'], ctx: TestPayloadContext): { method: EventMethod; payload: Record<string, unknown> } {
  const user = ctx.user ?? { id: '61371989950', name: 'wagate test' };
  switch (type) {
    case 'channel':
      return { method: 'post', payload: { health: ctx.health } };
    case 'users':
      return { method: 'post', payload: { user } };
    case 'messages': {
      const message: Message = {
        id: SAMPLE_MESSAGE_ID,
        type: 'text',
        chat_id: SAMPLE_CHAT,
        from: SAMPLE_CHAT.split('@')[0],
        from_me: false,
        from_name: 'wagate test',
        source: 'web',
        timestamp: ctx.now,
        status: 'delivered',
        text: { body: 'wagate webhook test' },
      };
      return { method: 'post', payload: { messages: [message] } };
    }
    case 'statuses': {
      const status: StatusUpdate = { id: SAMPLE_MESSAGE_ID, code: 3, status: 'delivered', recipient_id: SAMPLE_CHAT, timestamp: String(ctx.now) };
      return { method: 'post', payload: { statuses: [status] } };
    }
    case 'alerts':
      return { method: 'post', payload: { alert: { kind: 'webhook_failing', detail: 'wagate webhook test', at: ctx.now } } };
    case 'service':
      return { method: 'post', payload: { errors: [] } };
    default:
      return { method: 'post', payload: { [type]: [] } };
  }
}
