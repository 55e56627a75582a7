import { afterAll, describe, expect, it } from 'vitest';
import { postgresForTests } from '../../src/store/postgres/testing.js';
import { client, until } from '../support/http.js';
import type { GatewayProcess } from '../support/process.js';
import { ADMIN, clusterDatabase, leases, startNode, type ClusterDb } from './cluster.js';

// Many channels created at once through one node on PostgreSQL: each creation places its channel
// (a lease transaction on the node's two-connection lease pool), and none may be refused for it.
// The node renews every 250 ms, which makes its lease pool's timeout 250 ms (min(3 s, renewal)):
// on an idle machine, 64 placements each in its own transaction queue past that as surely as 32
// do past 3 s on a loaded one (the 503s this test was written against).

const CREATIONS = 64;
const pgServer = await postgresForTests();

describe.runIf(pgServer)('concurrent channel creation on a PostgreSQL node', () => {
  let db: ClusterDb | null = null;
  let gw: GatewayProcess | null = null;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await db?.drop();
  });

  it(`answers ${CREATIONS} creations made at once with 200, each channel running under its lease`, async () => {
    db = await clusterDatabase(pgServer!.url);
    gw = await startNode('n1', db.url, { WAGATE_LEASE_RENEW_MS: '250' });
    const partner = client(gw.url, ADMIN);
    const answers = await Promise.all(
      Array.from({ length: CREATIONS }, (_, i) =>
        partner<{ id: string; token: string }>('PUT', '/partner/channels', {
          name: `burst-${i}`,
          engine: 'sandbox',
          sandbox: { init_ms: 30, launch_ms: 60, receipt_delivered_ms: null, receipt_read_ms: null },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const ids = answers.map((a) => a.body.id);
    const held = await leases(db);
    expect(ids.filter((id) => held.get(id)?.node !== 'n1')).toEqual([]);
    // Each runs under that lease: it reaches QR with a history row written under the lease's epoch.
    await until(async () => {
      const rows = await db!.sql<{ channel_id: string }>(
        `SELECT DISTINCT h.channel_id FROM status_history h JOIN channel_leases l ON l.channel_id = h.channel_id
         WHERE h.to_status = 'QR' AND h.node_id = l.node_id AND h.epoch = l.epoch AND h.channel_id = ANY($1::text[])`,
        [ids],
      );
      return rows.length === CREATIONS;
    }, 'every channel QR under its lease', 60_000, 100);
  }, 120_000);
});
