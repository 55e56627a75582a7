import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { createTestSchema, postgresForTests } from '../store/postgres/testing.js';
import { StreamTickets, TICKET_TTL_MS } from './stream-tickets.js';

const server = await postgresForTests();

/** A ticket is admitted once, within its lifetime, in virtual time; `other` redeems what `issuer` issued. */
async function expectSingleUse(issuer: StreamTickets, other: StreamTickets, advance: (ms: number) => void): Promise<void> {
  const first = await issuer.issue();
  expect(first.expiresInSeconds).toBe(TICKET_TTL_MS / 1000);
  expect(await other.redeem(first.ticket)).toBe(true);
  expect(await other.redeem(first.ticket)).toBe(false);
  expect(await issuer.redeem(first.ticket)).toBe(false);

  const late = (await issuer.issue()).ticket;
  advance(TICKET_TTL_MS);
  expect(await other.redeem(late)).toBe(false);
  expect(await other.redeem('never-issued')).toBe(false);
}

describe('StreamTickets', () => {
  it('in memory: admits a ticket once, within its lifetime', async () => {
    let now = 1000;
    const tickets = new StreamTickets(() => now);
    await expectSingleUse(tickets, tickets, (ms) => (now += ms));
  });

  describe.runIf(server)('in PostgreSQL, shared by two nodes', () => {
    const stores: PostgresStore[] = [];
    let drop: () => Promise<void> = async () => undefined;
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await drop();
    });

    it('a ticket issued by one node opens the stream once on another, and never after its lifetime', async () => {
      const schema = await createTestSchema(server!.url);
      drop = schema.drop;
      for (let i = 0; i < 2; i++) stores.push(new PostgresStore({ connectionString: server!.url, schema: schema.schema }));
      await stores[0]!.migrate();
      let now = Date.UTC(2026, 11, 1);
      const [a, b] = stores.map((s) => new StreamTickets(() => now, s.tickets));
      await expectSingleUse(a!, b!, (ms) => (now += ms));
      // Expired tickets are pruned as new ones are issued.
      now += TICKET_TTL_MS;
      await a!.issue();
      const c = new pg.Client({ connectionString: server!.url });
      await c.connect();
      const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema.schema}.stream_tickets`);
      await c.end();
      expect(rows[0]!.n).toBe(1);
    });
  });
});
