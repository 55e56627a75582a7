import { proto } from 'baileys';
import { describe, expect, it } from 'vitest';
import { fakeImage, sha256 } from '../media/fixtures.js';
import { until } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { decrypted, pairedSetups, recorded } from './harness.js';
import { mediaMessage } from './phone-media.js';

// Forward, mark as read and delete (`/messages/{MessageID}`) through the real Baileys client.

const RECIPIENT = '61400111222';
const SENDER = '61400333444';
const validSent = whapiValidator('SentMessage');

const paired = pairedSetups();

describe('message operations through the real Baileys client and the emulator', () => {
  it('forwards a received image: re-uploaded from the media store, decrypted byte for byte, labelled forwarded', { timeout: 60_000 }, async () => {
    const s = await paired();
    const photo = fakeImage(40_000);
    const id = await s.emulator.deliver(SENDER, mediaMessage(s.emulator.media, { kind: 'image', bytes: photo, mimetype: 'image/png', caption: 'pass it on' }));
    await recorded(s, id);
    const res = await s.gate('POST', `/messages/${id}`, { to: RECIPIENT });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(validSent(res.body), JSON.stringify(validSent.errors)).toBe(true);
    expect(res.body.message).toMatchObject({ type: 'image', status: 'sent', context: { forwarded: true }, image: { sha256: sha256(photo) } });
    const carried = await decrypted(s, res.body.message.id);
    expect(carried.media?.bytes.equals(photo)).toBe(true);
    expect(carried.message?.imageMessage?.contextInfo).toMatchObject({ isForwarded: true, forwardingScore: 1 });
    expect(s.emulator.errors).toEqual([]);
  });

  it('marks a received message read: a read receipt reaches the server', { timeout: 60_000 }, async () => {
    const s = await paired();
    const id = await s.emulator.deliver(SENDER, { conversation: 'did you see this?' });
    await recorded(s, id);
    const res = await s.gate('PUT', `/messages/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await until(() => s.emulator.receipts.some((r) => r.id === id && r.type === 'read'), 'the read receipt', 5_000);
    expect(s.emulator.receipts.filter((r) => r.type === 'read')).toEqual([{ id, to: `${SENDER}@s.whatsapp.net`, type: 'read' }]);
    expect((await s.gate('GET', `/messages/${id}`)).body.status).toBe('read');
  });

  it('deletes a sent message: the recipient\'s phone gets the revoke of that id', { timeout: 60_000 }, async () => {
    const s = await paired();
    const sent = await s.gate('POST', '/messages/text', { to: RECIPIENT, body: 'wrong chat' });
    expect(sent.status).toBe(200);
    const before = s.emulator.messages.length;
    const res = await s.gate('DELETE', `/messages/${sent.body.message.id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const revoke = s.emulator.messages[before]!;
    const carried = await decrypted(s, revoke.id);
    expect(carried.message?.protocolMessage).toMatchObject({ type: proto.Message.ProtocolMessage.Type.REVOKE, key: { id: sent.body.message.id, fromMe: true } });
    expect((await s.gate('GET', `/messages/${sent.body.message.id}`)).body.status).toBe('deleted');
    expect(s.emulator.errors).toEqual([]);
  });
});
