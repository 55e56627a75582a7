import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { RECIPIENT, RECIPIENT_CHAT, pairedChannel, reach, sendText, sentLog } from './channel.js';

// SYNC_ERROR (SPEC §1, §4): connected, sending works, reading answers 401 naming the cure.

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
});

afterAll(async () => {
  await gw?.close();
});

async function inSyncError(): Promise<Awaited<ReturnType<typeof pairedChannel>> & { messageId: string }> {
  const ch = await pairedChannel(gw.createChannel);
  const sent = await sendText(ch.gate, { to: RECIPIENT, body: 'before the sync failed' });
  expect((await ch.gate('POST', '/sandbox/sync_error')).status).toBe(200);
  await reach(ch.gate, 'SYNC_ERROR');
  return { ...ch, messageId: sent.body.message.id as string };
}

describe('a channel in SYNC_ERROR', () => {
  it('sends: POST /messages/text answers 200 and the network carries the message', async () => {
    const ch = await inSyncError();
    const res = await sendText(ch.gate, { to: RECIPIENT, body: 'still sending' });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sent: true, message: { text: { body: 'still sending' }, from_me: true } });
    expect((await sentLog(ch.gate)).map((m) => m.body)).toEqual(['before the sync failed', 'still sending']);
  });

  it('sends at once, without waiting a hold', async () => {
    const ch = await inSyncError();
    const started = performance.now();
    expect((await sendText(ch.gate, { to: RECIPIENT, body: 'no hold' })).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ['GET /chats', '/chats'],
    ['GET /chats/{ChatID}', `/chats/${RECIPIENT_CHAT}`],
    ['GET /messages/list', '/messages/list'],
    ['GET /messages/list/{ChatID}', `/messages/list/${RECIPIENT_CHAT}`],
  ])('answers %s with 401 and the cure (logout) in details', async (_name, path) => {
    const ch = await inSyncError();
    const res = await ch.gate('GET', path);

    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 401, message: 'need channel authorization' } });
    const details = (res.body as { error: { details: string } }).error.details;
    expect(details).toContain('SYNC_ERROR');
    expect(details).toMatch(/logout/i);
  });

  it('answers GET /messages/{MessageID} with 401 and the cure, even for a message it holds', async () => {
    const ch = await inSyncError();
    const res = await ch.gate('GET', `/messages/${ch.messageId}`);
    expect(res.status).toBe(401);
    expect((res.body as { error: { details: string } }).error.details).toMatch(/logout/i);
  });

  it('reads again once logged out and paired anew', async () => {
    const ch = await inSyncError();
    expect((await ch.gate('POST', '/users/logout')).status).toBe(200);
    await reach(ch.gate, 'QR');
    expect((await ch.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Jonathan' } })).status).toBe(200);
    await reach(ch.gate, 'AUTH');
    expect((await ch.gate('GET', '/chats')).status).toBe(200);
    expect((await ch.gate('GET', '/messages/list')).status).toBe(200);
  });
});
