import { expect, it } from 'vitest';
import type { ChatUpsert, IdempotencyRecord, OutboundEvent, Store, StoredMessage } from '../types.js';
import { T0, TRICKY_JSON, newChannel, statusEvent } from './fixtures.js';

/** Unix seconds: message and chat timestamps. */
const S0 = Math.floor(T0 / 1000);

const ALL = { count: 100, offset: 0 };

/** A stored text message; `over` replaces any field. */
function message(id: string, chatId: string, timestamp: number, over: Partial<StoredMessage> = {}): StoredMessage {
  const fromMe = over.fromMe ?? false;
  return {
    id,
    chatId,
    fromMe,
    timestamp,
    message: { id, type: 'text', chat_id: chatId, from_me: fromMe, timestamp, status: 'sent', text: { body: id } },
    ...over,
  };
}

function chat(chatId: string, lastMessageId: string, timestamp: number, over: Partial<ChatUpsert> = {}): ChatUpsert {
  return { chatId, type: 'contact', name: null, timestamp, lastMessageId, unreadDelta: 0, ...over };
}

function idempotency(key: string, createdAt: number, over: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return { key, requestHash: `hash of ${key}`, status: 200, response: { sent: true, key }, createdAt, ...over };
}

/** Messages, chats and idempotency keys, written by commitChange and read back. */
export function messageContract(store: () => Store): void {
  const ids = async (channelId: string, filter = {}, page = ALL): Promise<string[]> =>
    (await store().listMessages(channelId, filter, page)).messages.map((m) => m.id);

  it('keeps a message exactly as given, key order and \\u0000 included', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const body = { zeta: 1, ...TRICKY_JSON, text: { body: 'nul \u0000 inside' }, alpha: 'last' };
    const m = message('MSG-1', '61371989950@s.whatsapp.net', S0, { fromMe: true, message: body });
    await store().commitChange({ channelId: a.id, messages: [m] });

    const read = await store().getMessage(a.id, 'MSG-1');
    expect(read).toStrictEqual(m);
    expect(JSON.stringify(read?.message)).toBe(JSON.stringify(body));
    expect(await store().listMessages(a.id, {}, ALL)).toStrictEqual({ messages: [m], total: 1 });
    expect(await store().getMessage(a.id, 'MSG-2')).toBeNull();
    expect(await store().getMessage(b.id, 'MSG-1')).toBeNull();
  });

  it('replaces a message with the same id, keeping its place among equal timestamps', async () => {
    const a = await store().createChannel(newChannel());
    await store().commitChange({ channelId: a.id, messages: [message('m1', 'c1', S0), message('m2', 'c1', S0)] });
    await store().commitChange({ channelId: a.id, messages: [message('m3', 'c1', S0)] });
    expect(await ids(a.id)).toEqual(['m3', 'm2', 'm1']);

    const read = message('m1', 'c1', S0, { message: { id: 'm1', status: 'read' } });
    await store().commitChange({ channelId: a.id, messages: [read] });
    expect(await ids(a.id)).toEqual(['m3', 'm2', 'm1']);
    expect(await store().getMessage(a.id, 'm1')).toStrictEqual(read);

    // Named twice in one change: the first place, the last content.
    const twice = [message('m4', 'c1', S0), message('m5', 'c1', S0), message('m4', 'c2', S0, { fromMe: true })];
    await store().commitChange({ channelId: a.id, messages: twice });
    expect(await ids(a.id)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    expect(await store().getMessage(a.id, 'm4')).toStrictEqual(twice[2]);
    expect((await store().listMessages(a.id, {}, ALL)).total).toBe(5);
  });

  it('lists messages newest first and filters by chat, direction and time (inclusive)', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    // Written out of time order, so the order can only come from the timestamp.
    const rows = [
      message('x3', 'c1', S0 + 30),
      message('x1', 'c1', S0 + 10, { fromMe: true }),
      message('x4', 'c2', S0 + 40, { fromMe: true }),
      message('x2', 'c2', S0 + 20),
      message('x5', 'c1', S0 + 50, { fromMe: true }),
    ];
    await store().commitChange({ channelId: a.id, messages: rows });
    await store().commitChange({ channelId: b.id, messages: [message('y1', 'c1', S0 + 30)] });

    expect(await ids(a.id)).toEqual(['x5', 'x4', 'x3', 'x2', 'x1']);
    expect(await ids(a.id, { chatId: 'c1' })).toEqual(['x5', 'x3', 'x1']);
    expect(await ids(a.id, { fromMe: true })).toEqual(['x5', 'x4', 'x1']);
    expect(await ids(a.id, { fromMe: false })).toEqual(['x3', 'x2']);
    expect(await ids(a.id, { timeFrom: S0 + 20 })).toEqual(['x5', 'x4', 'x3', 'x2']);
    expect(await ids(a.id, { timeTo: S0 + 40 })).toEqual(['x4', 'x3', 'x2', 'x1']);
    expect(await ids(a.id, { timeFrom: S0 + 20, timeTo: S0 + 40 })).toEqual(['x4', 'x3', 'x2']);
    expect(await ids(a.id, { chatId: 'c1', fromMe: true, timeFrom: S0 + 10, timeTo: S0 + 49 })).toEqual(['x1']);
    expect(await ids(a.id, { chatId: 'c9' })).toEqual([]);
    expect(await ids(b.id)).toEqual(['y1']);
  });

  it('lists oldest first with sort asc and filters by author (the message\'s from)', async () => {
    const a = await store().createChannel(newChannel());
    const from = (id: string, ts: number, sender: string) => message(id, 'c1', ts, { message: { id, type: 'text', chat_id: 'c1', from: sender, from_me: false, timestamp: ts } });
    // Two in the same second: insertion order breaks the tie, in both directions.
    await store().commitChange({ channelId: a.id, messages: [from('a2', S0 + 20, '111'), from('a1', S0 + 10, '222'), from('a3', S0 + 20, '111')] });
    expect(await ids(a.id, { sort: 'asc' })).toEqual(['a1', 'a2', 'a3']);
    expect(await ids(a.id, { sort: 'desc' })).toEqual(['a3', 'a2', 'a1']);
    expect(await ids(a.id, { author: '111' })).toEqual(['a3', 'a2']);
    expect(await ids(a.id, { author: '111', sort: 'asc' }, { count: 1, offset: 1 })).toEqual(['a3']);
    expect(await ids(a.id, { author: '999' })).toEqual([]);
    expect((await store().listMessages(a.id, { author: '222' }, ALL)).total).toBe(1);
  });

  it('pages messages and answers the total of the filtered listing', async () => {
    const a = await store().createChannel(newChannel());
    const rows = [1, 2, 3, 4, 5].map((i) => message(`p${i}`, i % 2 ? 'odd' : 'even', S0 + i));
    await store().commitChange({ channelId: a.id, messages: rows });

    const page = await store().listMessages(a.id, {}, { count: 2, offset: 1 });
    expect(page).toStrictEqual({ messages: [rows[3], rows[2]], total: 5 });
    const odd = await store().listMessages(a.id, { chatId: 'odd' }, { count: 1, offset: 1 });
    expect(odd).toStrictEqual({ messages: [rows[2]], total: 3 });
    expect(await store().listMessages(a.id, {}, { count: 5, offset: 9 })).toStrictEqual({ messages: [], total: 5 });
    expect(await store().listMessages('NOPE-00000', {}, ALL)).toStrictEqual({ messages: [], total: 0 });
  });

  it('upserts chats: unread adds up, a null name keeps the old one, latest activity first', async () => {
    const a = await store().createChannel(newChannel());
    const m = [message('k1', 'alice', S0 + 1), message('k2', 'group', S0 + 2), message('k3', 'alice', S0 + 3)];
    await store().commitChange({
      channelId: a.id,
      messages: m.slice(0, 2),
      chats: [
        chat('alice', 'k1', S0 + 1, { name: 'Alice', unreadDelta: 1 }),
        chat('group', 'k2', S0 + 2, { type: 'group', name: 'Team', unreadDelta: 2 }),
      ],
    });
    await store().commitChange({
      channelId: a.id,
      messages: [m[2] as StoredMessage],
      chats: [chat('alice', 'k3', S0 + 3, { unreadDelta: 1 }), chat('bob', 'k9', S0 + 2)],
    });

    const alice = { id: 'alice', type: 'contact', name: 'Alice', timestamp: S0 + 3, unread: 2, lastMessage: null };
    expect(await store().getChat(a.id, 'alice')).toStrictEqual({ ...alice, lastMessage: m[2]?.message });
    const all = await store().listChats(a.id, ALL);
    // Equal times: the chat whose last message was stored later first; one without a stored message last.
    expect(all.chats.map((c) => c.id)).toEqual(['alice', 'group', 'bob']);
    expect(all.total).toBe(3);
    const group = { id: 'group', type: 'group', name: 'Team', timestamp: S0 + 2, unread: 2 };
    expect(all.chats[1]).toStrictEqual({ ...group, lastMessage: m[1]?.message });
    // A last message that is not stored answers null.
    expect(all.chats[2]).toStrictEqual({ ...alice, id: 'bob', name: null, timestamp: S0 + 2, unread: 0 });
    expect(await store().listChats(a.id, { count: 1, offset: 1 })).toStrictEqual({ chats: [all.chats[1]], total: 3 });

    const renamed = chat('alice', 'k1', S0 + 4, { name: 'Alice B.', unreadDelta: -2 });
    await store().commitChange({ channelId: a.id, chats: [renamed] });
    expect(await store().getChat(a.id, 'alice')).toMatchObject({ name: 'Alice B.', unread: 0, timestamp: S0 + 4 });
    // An older message (an offline catch-up) adds to unread but never moves the chat back in time.
    await store().commitChange({ channelId: a.id, chats: [chat('alice', 'k2', S0 + 1, { unreadDelta: 1 })] });
    expect(await store().getChat(a.id, 'alice')).toMatchObject({ unread: 1, timestamp: S0 + 4, lastMessage: m[0]?.message });
    expect(await store().getChat(a.id, 'nobody')).toBeNull();
    expect(await store().listChats('NOPE-00000', ALL)).toStrictEqual({ chats: [], total: 0 });
  });

  it("answers a chat's last message as it stands now, after a later replace", async () => {
    const a = await store().createChannel(newChannel());
    const sent = message('s1', 'alice', S0, { fromMe: true });
    await store().commitChange({ channelId: a.id, messages: [sent], chats: [chat('alice', 's1', S0)] });
    const read = { ...sent, message: { ...sent.message, status: 'read' } };
    await store().commitChange({ channelId: a.id, messages: [read] });
    expect((await store().getChat(a.id, 'alice'))?.lastMessage).toStrictEqual(read.message);
    expect((await store().listChats(a.id, ALL)).chats[0]?.lastMessage).toStrictEqual(read.message);
  });

  it('keeps an idempotency answer within its window, replaces it on a rewrite, prunes old ones', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    const first = idempotency('key-1', T0, { response: { ...TRICKY_JSON, message: { id: 'MSG-1' } } });
    await store().commitChange({ channelId: a.id, idempotency: first });
    await store().commitChange({ channelId: a.id, idempotency: idempotency('key-2', T0 + 5000, { status: 400 }) });
    await store().commitChange({ channelId: b.id, idempotency: idempotency('key-1', T0 + 1000) });

    expect(await store().getIdempotency(a.id, 'key-1', T0)).toStrictEqual(first);
    const response = (await store().getIdempotency(a.id, 'key-1', 0))?.response;
    expect(JSON.stringify(response)).toBe(JSON.stringify(first.response));
    expect(await store().getIdempotency(a.id, 'key-1', T0 + 1)).toBeNull();
    expect((await store().getIdempotency(b.id, 'key-1', T0 + 1))?.createdAt).toBe(T0 + 1000);
    expect(await store().getIdempotency(a.id, 'key-3', 0)).toBeNull();

    // The caller rewrites an expired key: the new answer replaces the old one.
    const again = idempotency('key-1', T0 + 9000, { requestHash: 'other', status: 201, response: { sent: false } });
    await store().commitChange({ channelId: a.id, idempotency: again });
    expect(await store().getIdempotency(a.id, 'key-1', T0 + 9000)).toStrictEqual(again);

    expect(await store().pruneIdempotency(T0 + 5000)).toBe(1); // b's key-1
    expect(await store().getIdempotency(b.id, 'key-1', 0)).toBeNull();
    expect((await store().getIdempotency(a.id, 'key-2', 0))?.status).toBe(400);
    expect(await store().pruneIdempotency(T0 + 9001)).toBe(2);
    expect(await store().pruneIdempotency(T0 + 9001)).toBe(0);
  });

  it('writes no message, chat or idempotency key of a change that fails half-way', async () => {
    const a = await store().createChannel(newChannel());
    const kept = message('old', 'alice', S0);
    const chats = [chat('alice', 'old', S0, { unreadDelta: 1 })];
    await store().commitChange({ channelId: a.id, messages: [kept], chats });
    const before = await store().getChat(a.id, 'alice');

    // Written after the messages, chats and key: the fractional time fails the whole change.
    const bad: OutboundEvent = { ...statusEvent(a.id, 'AUTH', T0), createdAt: T0 + 0.5 };
    await expect(
      store().commitChange({
        channelId: a.id,
        messages: [message('new', 'alice', S0 + 1), { ...kept, message: { replaced: true } }],
        chats: [chat('alice', 'new', S0 + 1, { name: 'Alice', unreadDelta: 5 }), chat('bob', 'new', S0 + 1)],
        idempotency: idempotency('key-1', T0),
        events: [statusEvent(a.id, 'AUTH', T0), bad],
      }),
    ).rejects.toThrow();
    expect(await store().listMessages(a.id, {}, ALL)).toStrictEqual({ messages: [kept], total: 1 });
    expect(await store().listChats(a.id, ALL)).toStrictEqual({ chats: [before], total: 1 });
    expect(await store().getIdempotency(a.id, 'key-1', 0)).toBeNull();
    expect(await store().pruneIdempotency(Number.MAX_SAFE_INTEGER)).toBe(0);
  });

  it('deletes messages, chats and idempotency keys with their channel, and only those', async () => {
    const [a, b] = [await store().createChannel(newChannel()), await store().createChannel(newChannel())];
    for (const c of [a, b]) {
      await store().commitChange({
        channelId: c.id,
        messages: [message('m1', 'alice', S0)],
        chats: [chat('alice', 'm1', S0)],
        idempotency: idempotency('key-1', T0),
      });
    }
    expect(await store().deleteChannel(a.id)).toBe(true);
    expect(await store().listMessages(a.id, {}, ALL)).toStrictEqual({ messages: [], total: 0 });
    expect(await store().getMessage(a.id, 'm1')).toBeNull();
    expect(await store().listChats(a.id, ALL)).toStrictEqual({ chats: [], total: 0 });
    expect(await store().getIdempotency(a.id, 'key-1', 0)).toBeNull();

    expect(await store().getMessage(b.id, 'm1')).not.toBeNull();
    expect((await store().getChat(b.id, 'alice'))?.lastMessage).not.toBeNull();
    expect(await store().pruneIdempotency(Number.MAX_SAFE_INTEGER)).toBe(1);
  });
}
