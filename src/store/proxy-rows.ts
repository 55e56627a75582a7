import type { ProxyRecord } from './types.js';

/** The `proxies` columns both stores select, in the row shape below. */
export const PROXY_COLUMNS = 'id, url, label, region, state, state_reason, state_since, created_at';

export interface ProxyRow {
  id: string;
  url: string;
  label: string;
  region: string | null;
  state: string;
  state_reason: string | null;
  state_since: number;
  created_at: number;
}

/** A `proxies` row as a ProxyRecord. */
export function proxyFromRow(r: ProxyRow): ProxyRecord {
  return {
    id: r.id,
    url: r.url,
    label: r.label,
    region: r.region,
    state: r.state === 'quarantined' ? 'quarantined' : 'active',
    stateReason: r.state_reason,
    stateSince: Number(r.state_since),
    createdAt: Number(r.created_at),
  };
}
