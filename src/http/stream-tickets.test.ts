import { describe, expect, it } from 'vitest';
import { StreamTickets, TICKET_TTL_MS } from './stream-tickets.js';

describe('StreamTickets', () => {
  it('admits a ticket once, within its lifetime, in virtual time', () => {
    let now = 1000;
    const tickets = new StreamTickets(() => now);
    const first = tickets.issue();
    expect(first.expiresInSeconds).toBe(TICKET_TTL_MS / 1000);
    expect(tickets.redeem(first.ticket)).toBe(true);
    expect(tickets.redeem(first.ticket)).toBe(false);

    const late = tickets.issue().ticket;
    now += TICKET_TTL_MS;
    expect(tickets.redeem(late)).toBe(false);
    expect(tickets.redeem('never-issued')).toBe(false);
  });
});
