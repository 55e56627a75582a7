import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidWebhookError, UnsupportedWebhookError, isTextMessage, parseWebhook, type StatusText, type WebhookEvent } from '@wagate/client';
import { EVENT_CATALOGUE, envelope, type ChannelEvent, type EventName, channelStatus } from '@wagate/protocol';

const CHANNEL = 'MANTIS-M72HC';
const health = { channel_id: CHANNEL, start_at: 1713774883, uptime: 78, version: '0.1.0', status: channelStatus('AUTH'), user: { id: '61371989950', name: 'Jonathan' } };
const message = { id: 'AbCdEfGhIjKlMnOp-QrStUvWx', type: 'text' as const, chat_id: '61371989950@s.whatsapp.net', from: '61371989950', from_me: false, timestamp: 1713774900, text: { body: 'hi' } };

/** One event of each kind, built by the gateway's own envelope function. */
const wagateEvents: { [N in EventName]: ChannelEvent<N> } = {
  'channel.post': { name: 'channel.post', payload: { health } },
  'channel.patch': { name: 'channel.patch', payload: { qr: { status: 'OK', base64: 'data:image/png;base64,AAAA', rowdata: '2@abc', expire: 60 } } },
  'users.post': { name: 'users.post', payload: { user: { id: '61371989950', name: 'Jonathan' } } },
  'users.delete': { name: 'users.delete', payload: { user: { id: '61371989950', name: 'Jonathan' } } },
  'messages.post': { name: 'messages.post', payload: { messages: [message] } },
  'messages.patch': { name: 'messages.patch', payload: { messages_updates: [{ id: message.id, before_update: message, after_update: { ...message, text: { body: 'hi!' } }, changes: ['text'] }] } },
  'statuses.post': { name: 'statuses.post', payload: { statuses: [{ id: message.id, code: 3, status: 'delivered', recipient_id: message.chat_id, timestamp: '1713774901' }] } },
  'alerts.post': { name: 'alerts.post', payload: { alert: { kind: 'flapping', detail: '3 drops out of AUTH within 15 min', at: 1713774950 } } },
};

describe('parseWebhook', () => {
  it.each(EVENT_CATALOGUE.map((e) => `${e.type}.${e.method}` as EventName))('parses wagate %s as the gateway wraps it', (name) => {
    const wire = envelope(CHANNEL, wagateEvents[name] as ChannelEvent);
    const parsed = parseWebhook(JSON.stringify(wire));
    expect(parsed.name).toBe(name);
    expect(parsed.channel_id).toBe(CHANNEL);
    expect(parsed).toMatchObject(wire);
  });

  it('narrows on name to the payload of that event', () => {
    const event: WebhookEvent = parseWebhook(envelope(CHANNEL, wagateEvents['channel.post']));
    if (event.name !== 'channel.post') throw new Error('expected channel.post');
    expectTypeOf(event.health.status.text).toEqualTypeOf<StatusText>();
    expect(event.health.status.text).toBe('AUTH');
    const alert = parseWebhook(envelope(CHANNEL, wagateEvents['alerts.post']));
    if (alert.name === 'alerts.post') expect(alert.alert.kind).toBe('flapping');
  });

  it("accepts Whapi.Cloud's own payloads: the seed's channels.post without channel_id or user in health", () => {
    const seed = { health: { start_at: 1713774883, uptime: 77, status: { code: 2, text: 'LAUNCH' }, version: '1.8.3-74-gf7df472' }, event: { type: 'channels', event: 'post' }, channel_id: CHANNEL };
    const parsed = parseWebhook(seed);
    expect(parsed.name).toBe('channel.post');
    expect(parsed.event.type).toBe('channel');
  });

  it('accepts messages of types wagate never sends, and tells text messages apart', () => {
    const image = { id: 'AbCdEfGhIjKlMnOp-QrStUvWy', type: 'image', chat_id: '61371989950@s.whatsapp.net', from_me: false, timestamp: 1713774900, image: { id: 'x', mime_type: 'image/jpeg' } };
    const parsed = parseWebhook({ messages: [message, image], event: { type: 'messages', event: 'post' }, channel_id: CHANNEL });
    if (parsed.name !== 'messages.post') throw new Error('expected messages.post');
    expect(parsed.messages.map(isTextMessage)).toEqual([true, false]);
  });

  it('reads raw bytes as well as text and objects', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(envelope(CHANNEL, wagateEvents['users.post'])));
    expect(parseWebhook(bytes).name).toBe('users.post');
  });

  it('throws UnsupportedWebhookError for events outside the catalogue', () => {
    const chats = { chats: [], event: { type: 'chats', event: 'post' }, channel_id: CHANNEL };
    expect(() => parseWebhook(chats)).toThrow(UnsupportedWebhookError);
    try {
      parseWebhook({ ...chats, event: { type: 'channel', event: 'delete' } });
    } catch (err) {
      expect((err as UnsupportedWebhookError).event).toBe('channel.delete');
    }
  });

  it.each([
    ['not JSON', '{"health":'],
    ['not an object', '[1,2]'],
    ['no envelope', { health }],
    ['no channel_id', { health, event: { type: 'channel', event: 'post' } }],
    ['health without status', { health: { start_at: 1, uptime: 1 }, event: { type: 'channel', event: 'post' }, channel_id: CHANNEL }],
    ['an unknown status text', { health: { ...health, status: { code: 9, text: 'SLEEPING' } }, event: { type: 'channel', event: 'post' }, channel_id: CHANNEL }],
    ['an alert of an unknown kind', { alert: { kind: 'meteor', detail: '', at: 1 }, event: { type: 'alerts', event: 'post' }, channel_id: CHANNEL }],
    ['messages that are not an array', { messages: {}, event: { type: 'messages', event: 'post' }, channel_id: CHANNEL }],
  ])('throws InvalidWebhookError for %s', (_what, body) => {
    expect(() => parseWebhook(body)).toThrow(InvalidWebhookError);
  });

  it('says where an invalid payload went wrong', () => {
    try {
      parseWebhook({ health: { start_at: 1, uptime: 'long' }, event: { type: 'channel', event: 'post' }, channel_id: CHANNEL });
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidWebhookError).problems.join('\n')).toMatch(/\/health\/(uptime|status)/);
    }
  });
});
