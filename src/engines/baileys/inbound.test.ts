import Long from 'long';
import { proto, type WAMessage } from 'baileys';
import { describe, expect, it } from 'vitest';
import { chatIdOf, messagesFromUpsert, phoneDigits, receiptsFromUpdates, receiptsFromUserReceipts, textOf } from './inbound.js';

/** Inbound unit tests never download: a download reaching this fails the test. */
const NO_DOWNLOAD = (): Promise<Buffer> => Promise.reject(new Error('no download expected'));
const NOW = 1_767_225_600;
const OWN = '15550000001';

function msg(over: Partial<WAMessage> & { key?: Partial<WAMessage['key']> } = {}): WAMessage {
  return {
    messageTimestamp: 1_767_225_000,
    message: { conversation: 'hello' },
    ...over,
    key: { remoteJid: '15551234567@s.whatsapp.net', fromMe: false, id: 'MSG1', ...over.key },
  } as WAMessage;
}

describe('inbound text', () => {
  it('turns a live 1:1 text into a message from the contact\'s phone number', () => {
    const data = messagesFromUpsert({ type: 'notify', messages: [msg({ pushName: 'Ann' })] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toStrictEqual([
      {
        type: 'message',
        offline: false,
        message: { id: 'MSG1', chatId: '15551234567@s.whatsapp.net', from: '15551234567', fromMe: false, body: 'hello', timestamp: 1_767_225_000, fromName: 'Ann' },
      },
    ]);
  });

  it('marks messages that arrived while offline (append)', () => {
    const [data] = messagesFromUpsert({ type: 'append', messages: [msg()] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toMatchObject({ type: 'message', offline: true });
  });

  it('reads extended text, ephemeral wrappers and Long timestamps', () => {
    const wrapped = msg({
      message: { ephemeralMessage: { message: { extendedTextMessage: { text: 'see https://example.test' } } } },
      messageTimestamp: Long.fromNumber(1_767_225_001, true),
    });
    const [data] = messagesFromUpsert({ type: 'notify', messages: [wrapped] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toMatchObject({ message: { body: 'see https://example.test', timestamp: 1_767_225_001 } });
  });

  it('takes the group participant as sender, preferring its phone jid over a LID', () => {
    const group = msg({ key: { remoteJid: '120363000000000001@g.us', participant: '99887766@lid', participantAlt: '15557654321@s.whatsapp.net' } });
    const [data] = messagesFromUpsert({ type: 'notify', messages: [group] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toMatchObject({ message: { chatId: '120363000000000001@g.us', from: '15557654321' } });
    const plain = msg({ key: { remoteJid: '120363000000000001@g.us', participant: '15550001111@s.whatsapp.net' } });
    expect(messagesFromUpsert({ type: 'notify', messages: [plain] }, OWN, NOW, NO_DOWNLOAD)[0]).toMatchObject({ message: { from: '15550001111' } });
  });

  it('names a LID-addressed chat by the contact\'s phone jid when Baileys knows it', () => {
    expect(chatIdOf({ remoteJid: '99887766@lid', remoteJidAlt: '15551234567@s.whatsapp.net' })).toBe('15551234567@s.whatsapp.net');
    expect(chatIdOf({ remoteJid: '99887766@lid' })).toBe('99887766@lid');
    expect(chatIdOf({ remoteJid: '15551234567:3@s.whatsapp.net' })).toBe('15551234567@s.whatsapp.net');
  });

  it('marks our own messages (written on the phone) as from us, without a push name', () => {
    const mine = msg({ key: { fromMe: true }, pushName: 'Me' });
    const [data] = messagesFromUpsert({ type: 'notify', messages: [mine] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toStrictEqual({
      type: 'message',
      offline: false,
      message: { id: 'MSG1', chatId: '15551234567@s.whatsapp.net', from: OWN, fromMe: true, body: 'hello', timestamp: 1_767_225_000 },
    });
  });

  it('reports a media message with its kind, MIME type, caption and a download; a caption is the body', () => {
    const [data] = messagesFromUpsert({ type: 'notify', messages: [msg({ message: { imageMessage: { caption: 'pic', mimetype: 'image/png', width: 4, height: 3 } } })] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toMatchObject({ type: 'message', message: { body: 'pic', content: { kind: 'media', type: 'image', mimeType: 'image/png', caption: 'pic', width: 4, height: 3 } } });
  });

  it('names voice notes, gifs and documents by wagate kind, and reports locations and contacts', () => {
    const kinds = messagesFromUpsert(
      {
        type: 'notify',
        messages: [
          msg({ message: { audioMessage: { ptt: true, mimetype: 'audio/ogg', seconds: 3 } } }),
          msg({ message: { videoMessage: { gifPlayback: true } } }),
          msg({ message: { documentWithCaptionMessage: { message: { documentMessage: { fileName: 'a.pdf', mimetype: 'application/pdf' } } } } }),
          msg({ message: { locationMessage: { degreesLatitude: 1.5, degreesLongitude: -2, name: 'here' } } }),
          msg({ message: { contactMessage: { displayName: 'Ann', vcard: 'BEGIN:VCARD\nEND:VCARD' } } }),
        ],
      },
      OWN,
      NOW,
      NO_DOWNLOAD,
    ).map((d) => (d.type === 'message' ? d.message.content : undefined));
    expect(kinds).toMatchObject([
      { kind: 'media', type: 'voice', seconds: 3 },
      { kind: 'media', type: 'gif', mimeType: 'application/octet-stream' },
      { kind: 'media', type: 'document', fileName: 'a.pdf' },
      { kind: 'location', latitude: 1.5, longitude: -2, name: 'here' },
      { kind: 'contacts', contacts: [{ name: 'Ann', vcard: 'BEGIN:VCARD\nEND:VCARD' }] },
    ]);
  });

  it('skips reactions, protocol messages, status broadcasts and newsletters', () => {
    const skipped = [
      msg({ message: { reactionMessage: { text: '👍' } } }),
      msg({ message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE } } }),
      msg({ message: null }),
      msg({ key: { remoteJid: 'status@broadcast' } }),
      msg({ key: { remoteJid: '120363000000000002@newsletter' } }),
      msg({ key: { id: null } }),
    ];
    expect(messagesFromUpsert({ type: 'notify', messages: skipped }, OWN, NOW, NO_DOWNLOAD)).toStrictEqual([]);
  });

  it('falls back to now when a message has no timestamp', () => {
    const [data] = messagesFromUpsert({ type: 'notify', messages: [msg({ messageTimestamp: null })] }, OWN, NOW, NO_DOWNLOAD);
    expect(data).toMatchObject({ message: { timestamp: NOW } });
  });

  it('reads digits from phone jids with a device part', () => {
    expect(phoneDigits('15551234567:12@s.whatsapp.net')).toBe('15551234567');
    expect(textOf({ conversation: '' })).toBeNull();
  });
});

describe('receipts', () => {
  const sent = { remoteJid: '15551234567@s.whatsapp.net', fromMe: true, id: 'OUT1' };

  it('maps DELIVERY_ACK, READ and PLAYED of our messages and ignores the rest', () => {
    const S = proto.WebMessageInfo.Status;
    const updates = [
      { key: sent, update: { status: S.SERVER_ACK } },
      { key: sent, update: { status: S.DELIVERY_ACK } },
      { key: sent, update: { status: S.READ } },
      { key: sent, update: { status: S.PLAYED } },
      { key: { ...sent, fromMe: false }, update: { status: S.READ } },
      { key: sent, update: { starred: true } },
    ];
    expect(receiptsFromUpdates(updates, NOW)).toStrictEqual([
      { type: 'receipt', id: 'OUT1', chatId: '15551234567@s.whatsapp.net', status: 'delivered', timestamp: NOW },
      { type: 'receipt', id: 'OUT1', chatId: '15551234567@s.whatsapp.net', status: 'read', timestamp: NOW },
      { type: 'receipt', id: 'OUT1', chatId: '15551234567@s.whatsapp.net', status: 'played', timestamp: NOW },
    ]);
  });

  it('maps per-recipient receipts to the furthest status each reached, with its time', () => {
    const group = { ...sent, remoteJid: '120363000000000001@g.us' };
    const updates = [
      { key: group, receipt: { userJid: '1@s.whatsapp.net', receiptTimestamp: 100 } },
      { key: group, receipt: { userJid: '2@s.whatsapp.net', receiptTimestamp: 100, readTimestamp: Long.fromNumber(200) } },
      { key: group, receipt: { userJid: '3@s.whatsapp.net' } },
      { key: { ...group, fromMe: false }, receipt: { userJid: '4@s.whatsapp.net', readTimestamp: 300 } },
    ];
    expect(receiptsFromUserReceipts(updates, NOW)).toStrictEqual([
      { type: 'receipt', id: 'OUT1', chatId: '120363000000000001@g.us', status: 'delivered', timestamp: 100 },
      { type: 'receipt', id: 'OUT1', chatId: '120363000000000001@g.us', status: 'read', timestamp: 200 },
    ]);
  });
});
