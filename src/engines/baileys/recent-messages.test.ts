import type { WAMessage } from 'baileys';
import { describe, expect, it } from 'vitest';
import { RecentMessages } from './recent-messages.js';

const message = (id: string): WAMessage => ({ key: { remoteJid: '15551234567@s.whatsapp.net', id, fromMe: true }, message: { conversation: `text ${id}` } });

describe('RecentMessages', () => {
  it('answers the content of a message it remembers (Baileys\' getMessage)', () => {
    const recent = new RecentMessages();
    recent.remember(message('A'));
    expect(recent.content({ id: 'A' })).toStrictEqual({ conversation: 'text A' });
    expect(recent.content({ id: 'B' })).toBeUndefined();
    expect(recent.has('A')).toBe(true);
  });

  it('quotes a remembered message whole and an unknown one by its id', () => {
    const recent = new RecentMessages();
    recent.remember(message('A'));
    expect(recent.quoted('15551234567@s.whatsapp.net', 'A')).toStrictEqual(message('A'));
    expect(recent.quoted('15551234567@s.whatsapp.net', 'OLD')).toStrictEqual({
      key: { remoteJid: '15551234567@s.whatsapp.net', id: 'OLD', fromMe: false },
      message: { conversation: '' },
    });
  });

  it('forgets the oldest messages beyond its capacity', () => {
    const recent = new RecentMessages(2);
    for (const id of ['A', 'B', 'C']) recent.remember(message(id));
    expect(recent.has('A')).toBe(false);
    expect(recent.has('C')).toBe(true);
  });
});
