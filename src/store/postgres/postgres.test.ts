import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../contract.js';
import { LOG_FILTERS, T0, historyEntry, newChannel, statusEvent, target } from '../contract/fixtures.js';
import { deliveryListSql } from '../rows.js';
import { pruneBatches } from '../retention-rows.js';
import { openStore } from '../index.js';
import { Retention } from '../retention.js';
import { VirtualClock } from '../../channel/clock.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { PostgresStore } from './postgres-store.js';
import { createTestSchema, postgresForTests, type TestSchema } from './testing.js';

const server = await postgresForTests();

if (!server) {
  describe.skip('PostgresStore (no server)', () => {
    it('needs PostgreSQL', () => undefined);
  });
} else {
  const url = server.url;
  // Every store gets a schema of its own; whatever a failing test leaves behind is dropped here.
  const schemas: TestSchema[] = [];
  const freshSchema = async (): Promise<TestSchema> => {
    const schema = await createTestSchema(url);
    schemas.push(schema);
    return schema;
  };
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()));
  });

  describeStoreContract('postgres', async () => {
    const { schema, drop } = await freshSchema();
    const store = new PostgresStore({ connectionString: url, schema });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await drop();
      },
    };
  });

  describe('PostgresStore', () => {
    const appliedVersions = async (schema: string): Promise<Array<{ version: number; applied_at: string }>> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          `SELECT version, applied_at FROM ${schema}.schema_migrations ORDER BY version`,
        );
        return rows as Array<{ version: number; applied_at: string }>;
      } finally {
        await client.end();
      }
    };

    it('opens through openStore, creating and migrating its schema', async () => {
      const { schema } = await freshSchema();
      await schemas.at(-1)?.drop(); // openStore must create a missing schema itself
      const store = await openStore({ databaseUrl: url, dataDir: '/nonexistent', pgSchema: schema });
      try {
        expect(store.kind).toBe('postgres');
        const channel = await store.createChannel(newChannel());
        expect(await store.getChannel(channel.id)).toStrictEqual(channel);
      } finally {
        await store.close();
      }
      expect((await appliedVersions(schema)).map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    });

    it('lets two processes migrate the same schema at once, applying each version once', async () => {
      const { schema } = await freshSchema();
      const stores = [0, 1, 2].map(() => new PostgresStore({ connectionString: url, schema }));
      try {
        await Promise.all(stores.map((s) => s.migrate()));
        const before = await appliedVersions(schema);
        expect(before.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
        await stores[0]?.migrate();
        expect(await appliedVersions(schema)).toStrictEqual(before);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('parses bigint as a number on its own pool only, not for the whole process', async () => {
      const { schema } = await freshSchema();
      const store = new PostgresStore({ connectionString: url, schema });
      await store.close();
      expect(pg.types.getTypeParser(20, 'text')('5')).toBe('5');
    });

    it('can answer each delivery-log filter and each retention sweep from an index, never sorting a page (EXPLAIN)', async () => {
      const { schema } = await freshSchema();
      const store = new PostgresStore({ connectionString: url, schema });
      await store.migrate();
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // Empty tables: without this the planner rightly prefers a scan; what is checked is
        // that an index serves each query, and which.
        await client.query(`SET search_path TO ${schema}; SET enable_seqscan = off; SET enable_bitmapscan = off`);
        const plan = async (sql: string, values: unknown[]): Promise<string> => {
          const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, values);
          return JSON.stringify(rows[0]?.['QUERY PLAN']);
        };
        for (const filter of LOG_FILTERS) {
          const q = deliveryListSql(filter, (n) => `$${n}`);
          const n = q.values.length;
          const page = await plan(`${q.list} LIMIT $${n + 1} OFFSET $${n + 2}`, [...q.values, 100, 0]);
          expect(page, JSON.stringify(filter)).toMatch(/"Node Type":"Index (Only )?Scan"/);
          expect(page, JSON.stringify(filter)).not.toMatch(/"Node Type":"(Incremental )?Sort"/);
          expect(await plan(q.count, q.values), JSON.stringify(filter)).toMatch(/"Node Type":"Index (Only )?Scan"/);
        }
        for (const { select } of pruneBatches((n) => `$${n}`)) expect(await plan(select, [1, 500]), select).not.toMatch(/"Node Type":"Seq Scan"/);
      } finally {
        await client.end();
      }
    });

    it('vacuums what a retention sweep pruned when the server does not, so the next rows reuse the space', async () => {
      const { schema } = await freshSchema();
      const store = new PostgresStore({ connectionString: url, schema });
      await store.migrate();
      const channel = await store.createChannel(newChannel({ createdAt: 0 }));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`SET search_path TO ${schema}`);
        // A table whose own autovacuum is off stands for a server without it (this test server's is off too).
        await client.query('ALTER TABLE status_history SET (autovacuum_enabled = false)');
        const fill = (at: number): Promise<unknown> =>
          client.query(`INSERT INTO status_history (channel_id, at, from_status, to_status, reason, detail) SELECT $1, $2, 'AUTH', 'INIT', 'transient', repeat('x', 200) FROM generate_series(1, 20000)`, [channel.id, at]);
        const size = async (): Promise<number> => Number((await client.query<{ n: string }>(`SELECT pg_relation_size('status_history') AS n`)).rows[0]!.n);
        const vacuums = async (): Promise<number> => Number((await client.query<{ n: string }>(`SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'status_history' AND schemaname = $1`, [schema])).rows[0]?.n ?? 0);
        await fill(1);
        const filled = await size();
        const clock = new VirtualClock(100 * 24 * 60 * 60_000);
        const retention = new Retention({ store, clock, windows: { deliveriesDays: 7, eventsDays: 7, historyDays: 90 }, batch: 5000 });
        expect((await retention.sweep()).history).toBe(20000);
        await fill(clock.now());
        // Without the vacuum the table would have doubled; the freed pages took the new rows.
        expect(await size()).toBeLessThanOrEqual(filled * 1.1);
        await client.query('SELECT pg_stat_force_next_flush()');
        expect(await vacuums()).toBeGreaterThan(0);
      } finally {
        await client.end();
        await store.close();
      }
    });

    it('writes two changes of one channel made at once as one after the other would', async () => {
      const { schema } = await freshSchema();
      const store = new PostgresStore({ connectionString: url, schema });
      await store.migrate();
      try {
        const { id } = await store.createChannel(newChannel());
        const hook = target('http://127.0.0.1:1/hook');
        const snapshot = { status: 'LAUNCH' as const, statusReason: 'launching', statusDetail: 'first', statusSince: T0, startAt: T0, user: null };
        // One turn, so one group commit: the snapshot of the first, the change id of the second.
        await Promise.all([
          store.commitChange({ channelId: id, changeId: 'c1', snapshot, history: [historyEntry(T0, 'INIT', 'LAUNCH')], events: [{ ...statusEvent(id, 'one', T0), targets: [hook] }] }),
          store.commitChange({ channelId: id, changeId: 'c2', history: [historyEntry(T0 + 1, 'LAUNCH', 'QR')], events: [{ ...statusEvent(id, 'two', T0 + 1), targets: [hook] }] }),
        ]);
        expect(await store.getChannel(id)).toMatchObject({ status: 'LAUNCH', statusReason: 'launching', statusDetail: 'first' });
        expect(await store.lastChangeId(id)).toBe('c2');
        expect((await store.historySince(id, 0)).map((h) => h.to)).toEqual(['LAUNCH', 'QR']);
        const events = await store.listEvents(id, 0, 10);
        expect(events.map((e) => JSON.stringify(e.body))).toEqual([statusEvent(id, 'one', T0), statusEvent(id, 'two', T0 + 1)].map((e) => JSON.stringify(e.body)));
        const { deliveries } = await store.listDeliveries({ channelId: id }, { count: 10, offset: 0 });
        expect(deliveries.map((d) => d.eventSeq).sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
      } finally {
        await store.close();
      }
    });

    it('refuses a schema name that would need quoting', () => {
      expect(() => new PostgresStore({ connectionString: url, schema: 'bad"; DROP' })).toThrow(/invalid schema name/);
    });
  });
}
