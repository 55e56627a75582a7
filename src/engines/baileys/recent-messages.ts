import type { proto, WAMessage, WAMessageKey } from 'baileys';
import { Lru } from './lru.js';

/**
 * The channel's recent messages, in memory: Baileys needs the full message to quote it, and asks
 * for messages it sent when a recipient requests a re-send (`getMessage`). Message ids also let
 * the adapter drop a second copy of a message it already reported.
 */
export class RecentMessages {
  private readonly byId: Lru<string, WAMessage>;

  constructor(capacity = 1_000) {
    this.byId = new Lru(capacity);
  }

  remember(message: WAMessage): void {
    if (message.key.id) this.byId.set(message.key.id, message);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The content of a recent message (Baileys' `getMessage`). */
  content(key: WAMessageKey): proto.IMessage | undefined {
    return (key.id ? this.byId.get(key.id)?.message : undefined) ?? undefined;
  }

  /**
   * The message to quote. One that is not in memory any more is quoted by its id alone (WhatsApp
   * clients show the quote from their own copy of the message).
   */
  quoted(chatId: string, id: string): WAMessage {
    return this.byId.get(id) ?? { key: { remoteJid: chatId, id, fromMe: false }, message: { conversation: '' } };
  }
}
