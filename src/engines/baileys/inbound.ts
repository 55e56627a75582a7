import {
  isJidBroadcast,
  isJidGroup,
  isJidNewsletter,
  isLidUser,
  isPnUser,
  jidDecode,
  jidNormalizedUser,
  normalizeMessageContent,
  proto,
  toNumber,
  type BaileysEventMap,
  type MessageUserReceiptUpdate,
  type WAMessage,
  type WAMessageKey,
  type WAMessageUpdate,
} from 'baileys';
import type { EngineData } from '../engine.js';
import { inboundContentOf, type MediaDownload } from './media.js';

type ReceiptStatus = Extract<EngineData, { type: 'receipt' }>['status'];

const Status = proto.WebMessageInfo.Status;

/** Baileys' message status → the receipt it means (only acknowledgements by the recipient). */
const RECEIPT_OF_STATUS: Partial<Record<number, ReceiptStatus>> = {
  [Status.DELIVERY_ACK]: 'delivered',
  [Status.READ]: 'read',
  [Status.PLAYED]: 'played',
};

/** The phone number (digits) of a user jid: `15551234567:12@s.whatsapp.net` → `15551234567`. */
export function phoneDigits(jid: string): string {
  return jidDecode(jid)?.user ?? jid.replace(/\D/g, '');
}

/**
 * The chat a message key belongs to, as wagate names chats: a group's jid, or the contact's phone
 * jid. WhatsApp increasingly addresses contacts by LID (`...@lid`); Baileys then carries the phone
 * jid in `remoteJidAlt`, which is preferred. Null for chats wagate does not carry (status
 * broadcasts, broadcast lists, newsletters).
 */
export function chatIdOf(key: WAMessageKey): string | null {
  const jid = key.remoteJid;
  if (!jid || isJidBroadcast(jid) || isJidNewsletter(jid)) return null;
  if (isJidGroup(jid)) return jid;
  const phoneJid = isLidUser(jid) && isPnUser(key.remoteJidAlt ?? undefined) ? key.remoteJidAlt : jid;
  return jidNormalizedUser(phoneJid ?? jid);
}

/** Who wrote a message that is not ours: the group participant, else the chat's contact. */
function senderOf(key: WAMessageKey, chatId: string): string {
  if (!isJidGroup(chatId)) return phoneDigits(chatId);
  const participant = isPnUser(key.participantAlt ?? undefined) ? key.participantAlt : key.participant;
  return phoneDigits(participant ?? chatId);
}

/** The text of a message, or null for anything that is not plain text (media, reactions, protocol messages). */
export function textOf(message: proto.IMessage | null | undefined): string | null {
  const content = normalizeMessageContent(message);
  if (!content) return null;
  if (typeof content.conversation === 'string' && content.conversation !== '') return content.conversation;
  const extended = content.extendedTextMessage?.text;
  return typeof extended === 'string' && extended !== '' ? extended : null;
}

/**
 * The messages in a `messages.upsert` that wagate reports (text, media, locations, contacts):
 * `notify` is live, `append` arrived while the device was offline (or is a catch-up), so it is
 * marked `offline`. `ownPhone` names the sender of our own messages (written on the phone);
 * `download` fetches a media file when the gateway asks for it.
 */
export function messagesFromUpsert(upsert: BaileysEventMap['messages.upsert'], ownPhone: string, nowSeconds: number, download: MediaDownload): EngineData[] {
  const out: EngineData[] = [];
  for (const m of upsert.messages) {
    const message = inboundMessage(m, ownPhone, nowSeconds, download);
    if (message) out.push({ type: 'message', message, offline: upsert.type === 'append' });
  }
  return out;
}

function inboundMessage(m: WAMessage, ownPhone: string, nowSeconds: number, download: MediaDownload): Extract<EngineData, { type: 'message' }>['message'] | null {
  const id = m.key.id;
  const chatId = chatIdOf(m.key);
  const text = textOf(m.message);
  const content = text === null ? inboundContentOf(m.message, download) : null;
  if (!id || !chatId || (text === null && !content)) return null;
  const fromMe = m.key.fromMe === true;
  const message: Extract<EngineData, { type: 'message' }>['message'] = {
    id,
    chatId,
    from: fromMe ? ownPhone : senderOf(m.key, chatId),
    fromMe,
    body: text ?? (content?.kind === 'media' ? (content.caption ?? '') : ''),
    timestamp: toNumber(m.messageTimestamp) || nowSeconds,
  };
  if (content) message.content = content;
  return !fromMe && m.pushName ? { ...message, fromName: m.pushName } : message;
}

/** Receipts in `messages.update`: status changes of messages we sent. */
export function receiptsFromUpdates(updates: WAMessageUpdate[], nowSeconds: number): EngineData[] {
  const out: EngineData[] = [];
  for (const { key, update } of updates) {
    const status = typeof update.status === 'number' ? RECEIPT_OF_STATUS[update.status] : undefined;
    const chatId = chatIdOf(key);
    if (!status || !key.fromMe || !key.id || !chatId) continue;
    out.push({ type: 'receipt', id: key.id, chatId, status, timestamp: nowSeconds });
  }
  return out;
}

/** Receipts in `message-receipt.update` (per recipient, as groups report them): the furthest each reached. */
export function receiptsFromUserReceipts(updates: MessageUserReceiptUpdate[], nowSeconds: number): EngineData[] {
  const out: EngineData[] = [];
  for (const { key, receipt } of updates) {
    const chatId = chatIdOf(key);
    if (!key.fromMe || !key.id || !chatId) continue;
    const reached: Array<[ReceiptStatus, unknown]> = [
      ['played', receipt.playedTimestamp],
      ['read', receipt.readTimestamp],
      ['delivered', receipt.receiptTimestamp],
    ];
    const hit = reached.find(([, at]) => at !== null && at !== undefined && toNumber(at as number) > 0);
    if (hit) out.push({ type: 'receipt', id: key.id, chatId, status: hit[0], timestamp: toNumber(hit[1] as number) || nowSeconds });
  }
  return out;
}
