import { hashToken, newToken } from '../channel/tokens.js';

/** How long a ticket may wait before it is used. */
export const TICKET_TTL_MS = 30_000;
const MAX_OUTSTANDING = 1000;

/**
 * Single-use, short-lived tickets for the partner event stream. A browser's EventSource cannot
 * send an Authorization header, and the admin token must never ride in a URL (URLs end up in
 * proxy logs and browser history): the dashboard asks for a ticket with the header and opens
 * the stream with the ticket. Only hashes are kept, in memory: a restart voids every ticket.
 */
export class StreamTickets {
  private readonly pending = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** A new ticket, valid once within TICKET_TTL_MS. */
  issue(): { ticket: string; expiresInSeconds: number } {
    this.prune();
    if (this.pending.size >= MAX_OUTSTANDING) {
      // The oldest unused tickets go first: an admin asking for thousands gains nothing.
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    const ticket = newToken();
    this.pending.set(hashToken(ticket), this.now() + TICKET_TTL_MS);
    return { ticket, expiresInSeconds: TICKET_TTL_MS / 1000 };
  }

  /** Whether the ticket is valid; a valid ticket is used up by this call. */
  redeem(ticket: string): boolean {
    const key = hashToken(ticket);
    const expiresAt = this.pending.get(key);
    if (expiresAt === undefined) return false;
    this.pending.delete(key);
    return expiresAt > this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.pending) if (expiresAt <= now) this.pending.delete(key);
  }
}
