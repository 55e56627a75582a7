import type { ProxyRecord } from '../types.js';
import type { Prepare } from './outbox.js';
import { PROXY_COLUMNS, proxyFromRow, type ProxyRow } from '../proxy-rows.js';

/** The proxy pool in SQLite, on the store's connection and statement cache. */
export class SqliteProxies {
  constructor(private readonly stmt: Prepare) {}

  list(): ProxyRecord[] {
    return (this.stmt(`SELECT ${PROXY_COLUMNS} FROM proxies ORDER BY created_at, id`).all() as ProxyRow[]).map(proxyFromRow);
  }

  save(p: ProxyRecord): void {
    this.stmt(
      `INSERT INTO proxies (id, url, label, region, state, state_reason, state_since, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, label = excluded.label, region = excluded.region, state = excluded.state,
         state_reason = excluded.state_reason, state_since = excluded.state_since`,
    ).run(p.id, p.url, p.label, p.region, p.state, p.stateReason, p.stateSince, p.createdAt);
  }

  delete(id: string): boolean {
    return this.stmt('DELETE FROM proxies WHERE id = ?').run(id).changes > 0;
  }

  assignments(): Array<{ channelId: string; proxyId: string }> {
    const rows = this.stmt('SELECT channel_id, proxy_id FROM channel_proxies ORDER BY channel_id').all() as Array<{ channel_id: string; proxy_id: string }>;
    return rows.map((r) => ({ channelId: r.channel_id, proxyId: r.proxy_id }));
  }

  assign(channelId: string, proxyId: string | null): void {
    if (proxyId === null) this.stmt('DELETE FROM channel_proxies WHERE channel_id = ?').run(channelId);
    else this.stmt('INSERT INTO channel_proxies (channel_id, proxy_id) VALUES (?, ?) ON CONFLICT (channel_id) DO UPDATE SET proxy_id = excluded.proxy_id').run(channelId, proxyId);
  }
}
