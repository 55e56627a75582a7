import type pg from 'pg';
import type { ProxyRecord } from '../types.js';
import { PROXY_COLUMNS, proxyFromRow, type ProxyRow } from '../proxy-rows.js';

/** The proxy pool in PostgreSQL. */
export class PostgresProxies {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<ProxyRecord[]> {
    const { rows } = await this.pool.query<ProxyRow>(`SELECT ${PROXY_COLUMNS} FROM proxies ORDER BY created_at, id`);
    return rows.map(proxyFromRow);
  }

  async save(p: ProxyRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO proxies (id, url, label, region, state, state_reason, state_since, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, label = EXCLUDED.label, region = EXCLUDED.region, state = EXCLUDED.state,
         state_reason = EXCLUDED.state_reason, state_since = EXCLUDED.state_since`,
      [p.id, p.url, p.label, p.region, p.state, p.stateReason, p.stateSince, p.createdAt],
    );
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM proxies WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async assignments(): Promise<Array<{ channelId: string; proxyId: string }>> {
    const { rows } = await this.pool.query<{ channel_id: string; proxy_id: string }>('SELECT channel_id, proxy_id FROM channel_proxies ORDER BY channel_id');
    return rows.map((r) => ({ channelId: r.channel_id, proxyId: r.proxy_id }));
  }

  async assign(channelId: string, proxyId: string | null): Promise<void> {
    if (proxyId === null) await this.pool.query('DELETE FROM channel_proxies WHERE channel_id = $1', [channelId]);
    else {
      await this.pool.query(
        'INSERT INTO channel_proxies (channel_id, proxy_id) VALUES ($1, $2) ON CONFLICT (channel_id) DO UPDATE SET proxy_id = EXCLUDED.proxy_id',
        [channelId, proxyId],
      );
    }
  }
}
