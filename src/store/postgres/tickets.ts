import type pg from 'pg';
import type { TicketStore } from '../types.js';

/**
 * Stream tickets in PostgreSQL, so a ticket one node issued opens the stream on any node (behind
 * a load balancer the ticket's POST and the stream's GET may reach different nodes). Only hashes
 * are kept; redeeming deletes the row, so a ticket is used once across every node.
 */
export class PostgresTickets implements TicketStore {
  constructor(private readonly pool: pg.Pool) {}

  async issue(hash: string, expiresAt: number, now: number): Promise<void> {
    // Expired tickets go as new ones come: the table holds at most a TTL's worth of them.
    await this.pool.query(
      `WITH pruned AS (DELETE FROM stream_tickets WHERE expires_at <= $3)
       INSERT INTO stream_tickets (hash, expires_at) VALUES ($1, $2)`,
      [hash, expiresAt, now],
    );
  }

  async redeem(hash: string, now: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ expires_at: number }>('DELETE FROM stream_tickets WHERE hash = $1 RETURNING expires_at', [hash]);
    return rows.length > 0 && Number(rows[0]!.expires_at) > now;
  }
}
