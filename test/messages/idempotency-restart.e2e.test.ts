import { afterAll, describe, expect, it } from 'vitest';
import { databaseKinds, type TestDatabase } from '../support/databases.js';
import { client } from '../support/http.js';
import { startGatewayProcess, type GatewayProcess } from '../support/process.js';
import { RECIPIENT, pairedChannel, partnerCreator, reach, sendText, sentLog } from './channel.js';

// An Idempotency-Key outlives the process: after a SIGKILL and a restart on the same data, the
// same key answers the first answer and the new process's network carries nothing.

const ADMIN = 'idempotency-restart-admin';
const kinds = await databaseKinds();

describe.each(kinds)('Idempotency-Key across a SIGKILL restart on %s', (_kind, makeDb) => {
  if (!makeDb) {
    it.skip('needs PostgreSQL (skipped: no server answered)', () => undefined);
    return;
  }
  let db: TestDatabase | undefined;
  let gw: GatewayProcess | null = null;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await db?.drop();
  });

  it('answers the first message and sends nothing again after the gateway was killed', async () => {
    db = await makeDb();
    const env = { ...db.env, WAGATE_ADMIN_TOKEN: ADMIN };
    gw = await startGatewayProcess(env);
    const ch = await pairedChannel(partnerCreator(gw.url, ADMIN));
    const headers = { 'idempotency-key': 'order-4711' };
    const first = await sendText(ch.gate, { to: RECIPIENT, body: 'your order shipped' }, headers);
    expect(first.status).toBe(200);
    expect(await sentLog(ch.gate)).toHaveLength(1);

    expect(await gw.kill('SIGKILL')).toBeNull();
    gw = await startGatewayProcess(env);
    const gate = client(gw.url, ch.token);
    await reach(gate, 'AUTH', 20_000);
    expect(await sentLog(gate)).toEqual([]);

    const again = await sendText(gate, { to: RECIPIENT, body: 'your order shipped' }, headers);
    expect(again.status).toBe(200);
    expect(again.body.message.id).toBe(first.body.message.id);
    expect(again.body).toEqual(first.body);
    expect(await sentLog(gate)).toEqual([]);

    // The key still guards its body after the restart.
    const reused = await sendText(gate, { to: RECIPIENT, body: 'a different text' }, headers);
    expect(reused.status).toBe(409);
    expect(await sentLog(gate)).toEqual([]);
  }, 90_000);

  it('lets the key send after the gateway was killed while the send waited in the hold, unsent', async () => {
    db ??= await makeDb();
    const env = { ...db.env, WAGATE_ADMIN_TOKEN: ADMIN };
    await gw?.kill('SIGKILL');
    gw = await startGatewayProcess(env);
    const ch = await pairedChannel(partnerCreator(gw.url, ADMIN));
    expect((await ch.gate('PATCH', '/settings', { send_hold_ms: 30_000 })).status).toBe(200);
    expect((await ch.gate('POST', '/sandbox/blip', { duration_ms: 20_000 })).status).toBe(200);
    const headers = { 'idempotency-key': 'held-when-killed' };
    const held = sendText(ch.gate, { to: RECIPIENT, body: 'held, then killed' }, headers).catch((err: unknown) => err);
    await reach(ch.gate, 'LAUNCH');
    expect(await sentLog(ch.gate)).toEqual([]);

    expect(await gw.kill('SIGKILL')).toBeNull();
    expect(await held).toBeInstanceOf(Error);
    gw = await startGatewayProcess(env);
    const gate = client(gw.url, ch.token);
    await reach(gate, 'AUTH', 20_000);

    // Nothing went out before the kill, so the key must not be stuck as "outcome unknown".
    const retry = await sendText(gate, { to: RECIPIENT, body: 'held, then killed' }, headers);
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect((await sentLog(gate)).map((m) => m.body)).toEqual(['held, then killed']);
  }, 90_000);
});
