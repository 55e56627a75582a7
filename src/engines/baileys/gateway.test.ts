import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '@wagate/protocol';
import { until } from '../../../test/support/http.js';
import { startTestGateway, type TestGateway } from '../../../test/support/gateway.js';

/**
 * A real gateway with a real baileys channel and no network: the channel's ws_url names a closed
 * loopback port, so every attempt fails at once, as it would with WhatsApp out of reach.
 */
describe('a baileys channel without a network', () => {
  let gw: TestGateway | null = null;
  afterEach(async () => {
    await gw?.close();
    gw = null;
  });

  it('retries with backoff and ends in ERROR naming the connection error; the gateway and other channels carry on', async () => {
    // random 0: the shortest backoff (half of the 1 s base), so the test runs in about a second.
    gw = await startTestGateway({ env: { WAGATE_RECONNECT_MAX_FAILURES: '2' }, random: () => 0 });
    const { gateway } = gw;
    const { runtime } = await gateway.channels.create({ name: 'offline', engine: 'baileys', engineOptions: { ws_url: 'ws://127.0.0.1:1/' } });
    const sandbox = await gw.createChannel();

    await until(() => runtime.state.status === 'ERROR', 'the baileys channel to reach ERROR');
    await until(async () => (await sandbox.gate('GET', '/users/login?wakeup=false')).body?.status === 'OK', 'the sandbox QR');
    expect((await sandbox.gate('POST', '/sandbox/scan', {})).status).toBe(200);
    await until(() => gateway.channels.get(sandbox.id).state.status === 'AUTH', 'the sandbox channel to reach AUTH');

    const { history } = await gateway.store.listHistory(runtime.id, { count: 50, offset: 0 });
    const path = [...history].reverse().map((e: HistoryEntry) => `${e.to}:${e.reason}`);
    // Remediation (act, the default) notes the restart it will make after the cool-down.
    expect(path).toStrictEqual(['INIT:created', 'LAUNCH:connecting', 'INIT:connection_lost', 'LAUNCH:connecting', 'ERROR:reconnect_failed', 'ERROR:remediation']);
    const refused = 'WhatsApp unreachable: connect ECONNREFUSED 127.0.0.1:1';
    expect(history[1]?.detail).toBe(`2 attempts failed; last: ${refused}`);
    expect(history[0]?.detail).toMatch(/^restart: reconnect_failed: .*restart in 300 s/);
    expect(history.find((e) => e.reason === 'connection_lost')?.detail).toBe(`${refused}; attempt 2 in 500 ms`);
    expect(runtime.state.reason).toBe('reconnect_failed');

    expect((await gw.partner('GET', '/livez')).status).toBe(200);
    expect((await gw.partner('GET', '/readyz')).status).toBe(200);
    const health = await sandbox.gate('GET', '/health?wakeup=false');
    expect(health.body).toMatchObject({ status: { code: 4, text: 'AUTH' } });
    const baileysHealth = await gw.partner('GET', `/partner/channels/${runtime.id}`);
    expect(baileysHealth.body).toMatchObject({ engine: 'baileys', status: { text: 'ERROR' } });
  });
});
