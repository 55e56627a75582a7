import { DisconnectReason, proto } from 'baileys';
import { describe, expect, it } from 'vitest';
import { SYNC_FAILED_KEY } from './auth-state.js';
import { boom, engineHarness as harness, until } from './testing.js';

describe('baileys connection: SYNC_ERROR', () => {
  it('reports sync_error when a new device gets no history sync within 60 s, and keeps it for later connections', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 0 });
    const first = await h.attempt();
    await first.sock.open();
    await first.sock.pendingNotificationsReceived();
    await h.clock.advance(59_999);
    expect(h.signals()).toStrictEqual(['open']);
    await h.clock.advance(1);
    expect(h.events.at(-1)).toStrictEqual({ type: 'sync_error', detail: 'the phone did not start the initial history sync within 60 s of linking; logout and pair again' });
    await until(() => h.store.data.has(SYNC_FAILED_KEY));
    await first.conn.close();

    const second = await h.attempt();
    await second.sock.open();
    expect(h.signals().slice(-2)).toStrictEqual(['open', 'sync_error']);
    await second.sock.emit({ 'messaging-history.set': { chats: [], contacts: [], messages: [], isLatest: true } });
    await until(() => !h.store.data.has(SYNC_FAILED_KEY));
  });

  it('clears the mark when the history arrives late, so the next connection is AUTH again', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 0 });
    const first = await h.attempt();
    await first.sock.open();
    await first.sock.pendingNotificationsReceived();
    await h.clock.advance(60_000);
    await until(() => h.store.data.has(SYNC_FAILED_KEY));
    await first.sock.emit({ 'messaging-history.status': { syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, status: 'complete', explicit: true } });
    await until(() => !h.store.data.has(SYNC_FAILED_KEY));
    await first.conn.close();
    const second = await h.attempt();
    await second.sock.open();
    expect(h.signals().slice(-1)).toStrictEqual(['open']);
  });

  it('does not wait for history again on a reconnect during the first sync', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 0, processedHistoryMessages: [{ key: { remoteJid: '15551234567@s.whatsapp.net', id: 'H1' }, messageTimestamp: 1 }] });
    const { sock } = await h.attempt();
    await sock.open();
    await sock.pendingNotificationsReceived();
    await h.clock.advance(120_000);
    expect(h.signals()).toStrictEqual(['open']);
  });

  it('stays quiet when the history sync and the offline backlog arrive in time', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 0 });
    const { sock } = await h.attempt();
    await sock.open();
    await sock.pendingNotificationsReceived();
    await sock.emit({ 'messaging-history.set': { chats: [], contacts: [], messages: [], isLatest: true } });
    await h.clock.advance(120_000);
    expect(h.signals()).toStrictEqual(['open']);
  });

  it('on a reconnect needs only the offline backlog, within the channel\'s sync_timeout_ms', async () => {
    const h = harness({ options: { sync_timeout_ms: 5_000 } });
    h.link({ accountSyncCounter: 2 });
    const { sock } = await h.attempt();
    await sock.open();
    await h.clock.advance(5_000);
    expect(h.events.at(-1)).toStrictEqual({ type: 'sync_error', detail: 'WhatsApp did not deliver the messages that arrived while offline within 5 s of connecting' });
    expect(h.store.data.has(SYNC_FAILED_KEY)).toBe(false);
  });

  it('stops watching when the connection closes', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 0 });
    const { sock } = await h.attempt();
    await sock.open();
    await sock.close(boom('Connection was lost', DisconnectReason.connectionLost));
    await h.clock.advance(120_000);
    expect(h.signals()).toStrictEqual(['open', 'close:transient']);
  });
});
