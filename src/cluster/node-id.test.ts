import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { NODE_ID_FILE, resolveNodeId } from './node-id.js';

describe('node id', () => {
  it('is WAGATE_NODE_ID when set, else generated once and kept in the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wagate-node-id-'));
    expect(resolveNodeId('n-1', dir)).toBe('n-1');
    const generated = resolveNodeId(null, dir);
    expect(generated).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
    expect(readFileSync(join(dir, NODE_ID_FILE), 'utf8').trim()).toBe(generated);
    expect(resolveNodeId(null, dir)).toBe(generated);
  });

  it('refuses an id that could not go into a log or a URL as it is', () => {
    expect(() => resolveNodeId('a b', '/nonexistent')).toThrow(/WAGATE_NODE_ID/);
  });

  it('reads the lease timings and refuses a self-fence that would come after expiry', () => {
    const c = loadConfig({ WAGATE_LEASE_TTL_MS: '3000', WAGATE_LEASE_RENEW_MS: '500', WAGATE_LEASE_FENCE_MS: '2000', WAGATE_NODE_URL: 'http://10.0.0.2:8080' }).cluster;
    expect(c).toMatchObject({ ttlMs: 3000, renewMs: 500, fenceMs: 2000, nodeUrl: 'http://10.0.0.2:8080', tickMs: 1000, rebalanceMoves: 10 });
    expect(loadConfig({}).cluster).toMatchObject({ ttlMs: 15_000, renewMs: 5000, fenceMs: 10_000 });
    expect(() => loadConfig({ WAGATE_LEASE_TTL_MS: '3000', WAGATE_LEASE_FENCE_MS: '3000' })).toThrow(/before its leases can expire/);
    expect(() => loadConfig({ WAGATE_LEASE_RENEW_MS: '10000' })).toThrow(/WAGATE_LEASE_RENEW_MS/);
  });
});
