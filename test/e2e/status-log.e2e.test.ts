import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, until, type Call } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';

const ADMIN = 'status-log-admin-token-0123456789';
const FAST = { init_ms: 20, launch_ms: 20, receipt_delivered_ms: null, receipt_read_ms: null };

let gw: GatewayProcess;
beforeAll(async () => {
  // A real server process at the default level: what an operator's log shows.
  gw = await startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'info' });
});
afterAll(async () => {
  await gw?.kill('SIGTERM');
});

interface StatusLine {
  level: number;
  msg: string;
  channelId: string;
  from: string;
  to: string;
  reason: string;
  detail?: string | null;
}

/** The `channel status changed` lines the process printed for `id`, in order. */
function statusLines(id: string): StatusLine[] {
  return gw
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as StatusLine)
    .filter((line) => line.msg === 'channel status changed' && line.channelId === id);
}

const status = async (gate: Call) => (await gate<{ status: { text: string } }>('GET', '/health?wakeup=false')).body.status.text;

describe('the status log', () => {
  it('logs every status change at info with channel, from, to, reason and detail, and never a token or a message body', async () => {
    const partner = client(gw.url, ADMIN);
    const created = await partner<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'logged', engine: 'sandbox', sandbox: FAST });
    expect(created.status).toBe(200);
    const { id, token } = created.body;
    const gate = client(gw.url, token);
    await until(async () => (await status(gate)) === 'QR', 'QR');
    await gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Logged' } });
    await until(async () => (await status(gate)) === 'AUTH', 'AUTH');
    const body = `a private message ${Date.now()}`;
    expect((await gate('POST', '/sandbox/inbound', { from: '61400000001', body })).status).toBe(200);
    expect((await gate('POST', '/messages/text', { to: '61400000001', body: `${body} (reply)` })).status).toBe(200);
    await gate('POST', '/sandbox/blip', { duration_ms: 100 });
    await until(() => statusLines(id).length >= 7, 'the blip and the reconnect in the log');

    const { body: page } = await gate<{ history: Array<{ from: string; to: string; reason: string; detail?: string }> }>('GET', '/health/history?count=100');
    // One line per status change in the history (notes, from === to, are not status changes), in order.
    const changes = [...page.history].reverse().filter((e) => e.from !== e.to);
    const lines = statusLines(id);
    expect(lines.map((l) => [l.from, l.to, l.reason])).toEqual(changes.map((e) => [e.from, e.to, e.reason]));
    expect(lines.map((l) => l.to)).toEqual(['INIT', 'LAUNCH', 'QR', 'AUTH', 'INIT', 'LAUNCH', 'AUTH']);
    for (const line of lines) expect(line.level).toBe(30);
    const drop = lines.find((l) => l.from === 'AUTH' && l.to === 'INIT');
    expect(drop).toMatchObject({ reason: 'connection_lost', detail: expect.stringContaining('sandbox blip') });

    const output = gw.output();
    expect(output).not.toContain(token);
    expect(output).not.toContain(ADMIN);
    expect(output).not.toContain(body);
  });
});
