import { createServer, type RequestListener } from 'node:http';
import { GateClient } from '@wagate/client';
import type { WebhookInput } from '@wagate/protocol';
import { client, type Call } from '../../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../../support/process.js';

const ADMIN = 'client-e2e-admin-token-0123456789';

export interface SandboxChannel {
  gw: GatewayProcess;
  id: string;
  token: string;
  /** The library's client for this channel. */
  gate: GateClient;
  /** A plain test caller with the channel token, for the sandbox controls. */
  call: Call;
}

/** A real `wagate serve` process on a fresh SQLite directory. */
export async function startGateway(): Promise<GatewayProcess> {
  return startGatewayProcess({ WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_DATA_DIR: tempDataDir('wagate-client-') });
}

/** Creates a fast sandbox channel (not started) with the given settings. */
export async function createSandboxChannel(gw: GatewayProcess, settings: { send_hold_ms?: number; webhooks?: WebhookInput[] }): Promise<SandboxChannel> {
  const partner = client(gw.url, ADMIN);
  const created = await partner<{ id: string; token: string }>('PUT', '/partner/channels', {
    name: 'client-e2e',
    engine: 'sandbox',
    start: false,
    sandbox: { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null },
    settings,
  });
  if (created.status !== 200) throw new Error(`channel not created: ${created.status} ${JSON.stringify(created.body)}`);
  const { id, token } = created.body;
  return { gw, id, token, gate: new GateClient({ baseUrl: gw.url, token }), call: client(gw.url, token) };
}

/** A loopback HTTP server for webhooks; resolves with its URL and a closer. */
export async function listen(handler: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The subscriptions the status tracker needs. */
export const STATUS_EVENTS: WebhookInput['events'] = [
  { type: 'channel', method: 'post' },
  { type: 'users', method: 'post' },
  { type: 'users', method: 'delete' },
  { type: 'alerts', method: 'post' },
];
