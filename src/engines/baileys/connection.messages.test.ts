import { DisconnectReason, proto } from 'baileys';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { describe, expect, it } from 'vitest';
import type { EngineSignal } from '../../channel/lifecycle.js';
import { EngineClosedError, EngineSendError, type EngineConnection, type EngineData } from '../engine.js';
import { WHATSAPP_WS_URL } from './options.js';
import { boom, engineHarness as harness, type FakeSocket } from './testing.js';

const CHAT = '15557654321@s.whatsapp.net';

/** An open connection of a linked account over a fake socket. */
async function openConnection(over: Parameters<typeof harness>[0] = {}): Promise<{ conn: EngineConnection; sock: FakeSocket; events: Array<EngineSignal | EngineData> }> {
  const h = harness(over);
  h.link({ accountSyncCounter: 1 });
  const { conn, sock } = await h.attempt();
  await sock.connecting();
  await sock.open();
  h.events.length = 0;
  return { conn, sock, events: h.events };
}

const inbound = (id: string, text: string) => ({ key: { remoteJid: CHAT, fromMe: false, id }, message: { conversation: text }, messageTimestamp: 1_767_225_000, pushName: 'Bob' });

describe('baileys connection: sending text', () => {
  it('sends through sock.sendMessage without a link preview and answers the id and time', async () => {
    const { conn, sock } = await openConnection();
    const sent = await conn.sendText({ chatId: CHAT, body: 'hi', linkPreview: false });
    expect(sock.sent).toStrictEqual([{ jid: CHAT, content: { text: 'hi', linkPreview: null }, options: { messageId: sent.id } }]);
    expect(sent).toStrictEqual({ id: expect.stringMatching(/^3EB0[0-9A-F]{18}$/), timestamp: 1_767_225_601, status: 'sent' });
  });

  it('passes mentions as jids and lets Baileys build a preview when asked', async () => {
    const { conn, sock } = await openConnection();
    await conn.sendText({ chatId: CHAT, body: 'hi @15550001111', linkPreview: true, mentions: ['15550001111'] });
    expect(sock.sent[0]?.content).toStrictEqual({ text: 'hi @15550001111', mentions: ['15550001111@s.whatsapp.net'] });
  });

  it('quotes a message it has seen whole, and an older one by id', async () => {
    const { conn, sock } = await openConnection();
    await sock.emit({ 'messages.upsert': { type: 'notify', messages: [inbound('IN1', 'question?')] } });
    await conn.sendText({ chatId: CHAT, body: 'answer', linkPreview: false, quoted: 'IN1' });
    expect(sock.sent[0]?.options?.quoted).toMatchObject({ key: { id: 'IN1' }, message: { conversation: 'question?' } });
    await conn.sendText({ chatId: CHAT, body: 'again', linkPreview: false, quoted: 'OLD' });
    expect(sock.sent[1]?.options?.quoted).toStrictEqual({ key: { remoteJid: CHAT, id: 'OLD', fromMe: false }, message: { conversation: '' } });
  });

  it('throws EngineClosedError and sends nothing when the socket is not open', async () => {
    const { conn, sock } = await openConnection();
    await sock.close(boom('Connection was lost', DisconnectReason.connectionLost));
    await expect(conn.sendText({ chatId: CHAT, body: 'hi', linkPreview: false })).rejects.toBeInstanceOf(EngineClosedError);
    expect(sock.sent).toStrictEqual([]);
  });

  it('throws EngineClosedError when Baileys finds the socket closed before writing (428)', async () => {
    const { conn, sock } = await openConnection();
    sock.sendFailure = boom('Connection Closed', DisconnectReason.connectionClosed);
    await expect(conn.sendText({ chatId: CHAT, body: 'hi', linkPreview: false })).rejects.toBeInstanceOf(EngineClosedError);
  });

  it('throws EngineSendError when Baileys refuses the message', async () => {
    const { conn, sock } = await openConnection();
    sock.sendFailure = new Error('not-acceptable');
    const err = await conn.sendText({ chatId: CHAT, body: 'hi', linkPreview: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineSendError);
    expect((err as Error).message).toBe('WhatsApp refused the message: not-acceptable');
  });

  it('answers re-send requests for what it sent (getMessage)', async () => {
    const { conn, sock } = await openConnection();
    const { id } = await conn.sendText({ chatId: CHAT, body: 'hi', linkPreview: false });
    await expect(sock.config.getMessage?.({ remoteJid: CHAT, id, fromMe: true })).resolves.toStrictEqual({ extendedTextMessage: { text: 'hi' } });
  });
});

describe('baileys connection: inbound data', () => {
  it('reports live messages, and those that arrived while offline as offline', async () => {
    const { sock, events } = await openConnection();
    await sock.emit({ 'messages.upsert': { type: 'append', messages: [inbound('OFF1', 'while you were away')] } });
    await sock.emit({ 'messages.upsert': { type: 'notify', messages: [inbound('LIVE1', 'now')] } });
    expect(events).toStrictEqual([
      { type: 'message', offline: true, message: { id: 'OFF1', chatId: CHAT, from: '15557654321', fromMe: false, body: 'while you were away', timestamp: 1_767_225_000, fromName: 'Bob' } },
      { type: 'message', offline: false, message: { id: 'LIVE1', chatId: CHAT, from: '15557654321', fromMe: false, body: 'now', timestamp: 1_767_225_000, fromName: 'Bob' } },
    ]);
  });

  it('reports messages written on the phone as from us, and never echoes its own sends', async () => {
    const { conn, sock, events } = await openConnection();
    const { id } = await conn.sendText({ chatId: CHAT, body: 'from the API', linkPreview: false });
    const echo = { key: { remoteJid: CHAT, fromMe: true, id }, message: { conversation: 'from the API' }, messageTimestamp: 1 };
    const phone = { key: { remoteJid: CHAT, fromMe: true, id: 'PHONE1' }, message: { conversation: 'typed on the phone' }, messageTimestamp: 2 };
    await sock.emit({ 'messages.upsert': { type: 'append', messages: [echo, phone] } });
    expect(events).toStrictEqual([
      { type: 'message', offline: true, message: { id: 'PHONE1', chatId: CHAT, from: '15551234567', fromMe: true, body: 'typed on the phone', timestamp: 2 } },
    ]);
  });

  it('reports receipts from status updates and per-recipient receipts', async () => {
    const { sock, events } = await openConnection();
    const key = { remoteJid: CHAT, fromMe: true, id: 'OUT1' };
    await sock.emit({ 'messages.update': [{ key, update: { status: proto.WebMessageInfo.Status.DELIVERY_ACK } }] });
    await sock.emit({ 'message-receipt.update': [{ key, receipt: { userJid: CHAT, readTimestamp: 1_767_225_700 } }] });
    expect(events).toMatchObject([
      { type: 'receipt', id: 'OUT1', chatId: CHAT, status: 'delivered' },
      { type: 'receipt', id: 'OUT1', chatId: CHAT, status: 'read', timestamp: 1_767_225_700 },
    ]);
  });

  it('reports nothing once the connection closed', async () => {
    const { sock, events } = await openConnection();
    await sock.close(boom('Connection was lost', DisconnectReason.connectionLost));
    await sock.emit({ 'messages.upsert': { type: 'notify', messages: [inbound('LATE', 'late')] } });
    expect(events.filter((e) => e.type === 'message')).toStrictEqual([]);
  });

  it('answers the profile from the linked account', async () => {
    const { conn } = await openConnection();
    await expect(conn.profile()).resolves.toStrictEqual({ name: 'Ann', about: '', icon: '' });
  });
});

describe('baileys connection: forwards, read receipts, deletes', () => {
  const ref = { chatId: CHAT, id: 'IN1', fromMe: false, timestamp: 1_767_225_000 };

  it('sends a forward with WhatsApp\'s forwarded context, text and media alike', async () => {
    const { conn, sock } = await openConnection();
    await conn.sendText({ chatId: CHAT, body: 'fwd', linkPreview: false, forwarded: true });
    await conn.sendContent({ kind: 'location', chatId: CHAT, latitude: 1, longitude: 2, forwarded: true });
    expect(sock.sent.map((s) => (s.content as { contextInfo?: unknown }).contextInfo)).toStrictEqual([
      { isForwarded: true, forwardingScore: 1 },
      { isForwarded: true, forwardingScore: 1 },
    ]);
  });

  it('marks a received message read with a read receipt, sending no message', async () => {
    const { conn, sock } = await openConnection();
    await expect(conn.sendContent({ kind: 'read', chatId: CHAT, target: ref })).resolves.toMatchObject({ id: 'IN1', status: 'sent' });
    expect(sock.read).toStrictEqual([[{ remoteJid: CHAT, id: 'IN1', fromMe: false }]]);
    expect(sock.sent).toStrictEqual([]);
  });

  it('revokes a message of ours for everyone (a message), and deletes another\'s on this device (app state)', async () => {
    const { conn, sock } = await openConnection();
    await conn.sendContent({ kind: 'delete', chatId: CHAT, target: { ...ref, id: 'MINE', fromMe: true } });
    expect(sock.sent[0]?.content).toStrictEqual({ delete: { remoteJid: CHAT, id: 'MINE', fromMe: true } });
    await expect(conn.sendContent({ kind: 'delete', chatId: CHAT, target: ref })).resolves.toMatchObject({ id: 'IN1' });
    expect(sock.modified).toStrictEqual([{ mod: { deleteForMe: { deleteMedia: true, key: { remoteJid: CHAT, id: 'IN1', fromMe: false }, timestamp: 1_767_225_000 } }, jid: CHAT }]);
    expect(sock.sent).toHaveLength(1);
  });

  it('answers EngineSendError when WhatsApp refuses the read receipt', async () => {
    const { conn, sock } = await openConnection();
    sock.readMessages = () => Promise.reject(new Error('nope'));
    await expect(conn.sendContent({ kind: 'read', chatId: CHAT, target: ref })).rejects.toBeInstanceOf(EngineSendError);
  });
});

describe('baileys connection: where it connects', () => {
  it('connects to WhatsApp Web directly by default', async () => {
    const { sock } = await openConnection();
    expect(sock.config.waWebSocketUrl).toBe(WHATSAPP_WS_URL);
    expect(sock.config.agent).toBeUndefined();
  });

  it('connects to the channel\'s ws_url through the channel\'s socks5 proxy', async () => {
    const { sock } = await openConnection({ options: { ws_url: 'ws://127.0.0.1:1/' }, proxy: () => 'socks5://127.0.0.1:1080' });
    expect(sock.config.waWebSocketUrl).toBe('ws://127.0.0.1:1/');
    expect(sock.config.agent).toBeInstanceOf(SocksProxyAgent);
    expect(sock.config.fetchAgent).toBe(sock.config.agent);
  });
});
