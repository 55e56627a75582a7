import { describe, expect, it } from 'vitest';
import { engineWork } from './routes.js';

const work = (method: string, route: string, status = 'AUTH', query: Record<string, unknown> = {}) => engineWork({ method, route, status, query });

describe('which requests go to the node that runs the channel', () => {
  it('sends every message, reaction, star and pin there, under the send hold', () => {
    for (const route of ['/messages/text', '/messages/image', '/messages/media/:MediaMessageType', '/messages/contact_list', '/partner/channels/:id/messages/text']) {
      expect(work('POST', route)).toBe('send');
    }
    expect(work('PUT', '/messages/:MessageID/reaction')).toBe('send');
    expect(work('DELETE', '/messages/:MessageID/pin')).toBe('send');
    expect(work('PUT', '/messages/:MessageID')).toBe('send');
    expect(work('DELETE', '/messages/:MessageID')).toBe('send');
  });

  it('sends the engine actions and owner writes there', () => {
    for (const [method, route] of [
      ['POST', '/users/logout'],
      ['GET', '/users/login'],
      ['HEAD', '/users/login/image'],
      ['GET', '/users/login/:phone'],
      ['GET', '/users/profile'],
      ['POST', '/sandbox/scan'],
      ['GET', '/sandbox/sent'],
      ['PATCH', '/settings'],
      ['DELETE', '/settings'],
      ['POST', '/partner/channels/:id/restart'],
      ['POST', '/partner/channels/:id/token'],
      ['DELETE', '/partner/channels/:id'],
      ['POST', '/partner/channels/:id/sandbox/blip'],
      ['GET', '/partner/channels/:id/qr'],
    ]) {
      expect(work(method!, route!), `${method} ${route}`).toBe('action');
    }
  });

  it('answers reads from the database on any node', () => {
    for (const route of ['/health/history', '/messages/list', '/messages/:MessageID', '/chats', '/settings', '/webhooks/deliveries', '/events', '/partner/channels/:id', '/partner/channels/:id/history']) {
      expect(work('GET', route), route).toBeNull();
    }
    expect(work('POST', '/settings/webhook_test')).toBeNull();
    expect(work('POST', '/webhooks/deliveries/replay')).toBeNull();
  });

  it('wakes a never-started or parked channel on its node, and reads any other health here', () => {
    expect(work('GET', '/health', 'NOT_INIT')).toBe('wake');
    expect(work('GET', '/health', 'QR', { wakeup: 'true' })).toBe('wake');
    expect(work('GET', '/health', 'QR', { wakeup: 'false' })).toBeNull();
    expect(work('GET', '/health', 'AUTH')).toBeNull();
    expect(work('GET', '/health', 'STOP')).toBeNull();
  });
});
