import type { Clock } from '../../src/channel/clock.js';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import type { LookupAll } from '../../src/webhooks/guard.js';
import { client, type Call } from './http.js';
import { tempDataDir } from './process.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  partner: Call;
  /** Creates a sandbox channel and answers its id, token and a gate caller. */
  createChannel(body?: Record<string, unknown>): Promise<{ id: string; token: string; gate: Call }>;
  close(): Promise<void>;
}

/** Starts a real gateway in this process on an ephemeral loopback port with a fresh SQLite store. */
export async function startTestGateway(opts: { env?: Record<string, string>; clock?: Clock; random?: () => number; lookup?: LookupAll } = {}): Promise<TestGateway> {
  const config = loadConfig({
    WAGATE_PORT: '0',
    WAGATE_DATA_DIR: tempDataDir(),
    WAGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    WAGATE_LOG_LEVEL: 'warn',
    // Every test client shares 127.0.0.1, and suites send wrong tokens on purpose by the hundred:
    // the limiter's own test sets a small budget.
    WAGATE_AUTH_FAILURE_LIMIT: '1000000',
    ...opts.env,
  });
  const gateway = await startGateway(config, { clock: opts.clock, random: opts.random, lookup: opts.lookup });
  const partner = client(gateway.url, ADMIN_TOKEN);
  return {
    gateway,
    url: gateway.url,
    partner,
    createChannel: async (body = {}) => {
      const res = await partner<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'test', engine: 'sandbox', ...body });
      if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, token: res.body.token, gate: client(gateway.url, res.body.token) };
    },
    close: () => gateway.close(),
  };
}
