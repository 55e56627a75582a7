import { hashToken, newToken } from '../channel/tokens.js';
import type { TicketStore } from '../store/types.js';

/** How long a ticket may wait before it is used. */
export const TICKET_TTL_MS = 30_000;
const MAX_OUTSTANDING = 1000;

/**
 * Single-use, short-lived tickets for the partner event stream. A browser's EventSource cannot
 * send an Authorization header, and the admin token must never ride in a URL (URLs end up in
 * proxy logs and browser history): the dashboard asks for a ticket with the header and opens
 * the stream with the ticket. Only hashes are kept: in `shared` (the database) when several
 * nodes may answer the two requests, else in memory, where a restart voids every ticket.
 */
export class StreamTickets {
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly shared?: TicketStore,
  ) {}

  /** A new ticket, valid once within TICKET_TTL_MS. */
  async issue(): Promise<{ ticket: string; expiresInSeconds: number }> {
    const ticket = newToken();
    const now = this.now();
    if (this.shared) await this.shared.issue(hashToken(ticket), now + TICKET_TTL_MS, now);
    else this.keep(hashToken(ticket), now + TICKET_TTL_MS);
    return { ticket, expiresInSeconds: TICKET_TTL_MS / 1000 };
  }

  /** Whether the ticket is valid; a valid ticket is used up by this call. */
  async redeem(ticket: string): Promise<boolean> {
    const key = hashToken(ticket);
    if (this.shared) return this.shared.redeem(key, this.now());
    const expiresAt = this.pending.get(key);
    if (expiresAt === undefined) return false;
    this.pending.delete(key);
    return expiresAt > this.now();
  }

  private keep(key: string, expiresAt: number): void {
    const now = this.now();
    for (const [k, at] of this.pending) if (at <= now) this.pending.delete(k);
    if (this.pending.size >= MAX_OUTSTANDING) {
      // The oldest unused tickets go first: an admin asking for thousands gains nothing.
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(key, expiresAt);
  }
}
