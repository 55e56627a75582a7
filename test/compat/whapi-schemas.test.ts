import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { client, until, type Answer, type Call } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';

// What wagate answers must validate against Whapi.Cloud's own OpenAPI schemas (SPEC, preamble).

const FAST = { init_ms: 20, launch_ms: 20 };

const health = whapiValidator('Health');
// SPEC §1: STOP is missing from Whapi's ChannelStatus enum; a STOP health is checked with it added.
const healthWithStop = whapiValidator('Health', { extraStatusTexts: ['STOP'] });
const qr = whapiValidator('QR');
const responseError = whapiValidator('ResponseError');

function expectValid(validate: ValidateFunction, body: unknown): void {
  const ok = validate(body);
  expect(ok, `${JSON.stringify(body)}\n${JSON.stringify(validate.errors, null, 1)}`).toBe(true);
}

function expectWhapiError(res: Answer, status: number): void {
  expect(res.status).toBe(status);
  expectValid(responseError, res.body);
  expect((res.body as { error: { code: number } }).error.code).toBe(status);
}

let gw: TestGateway;

beforeAll(async () => {
  // One pairing round before parking, so TIMEOUT is reachable in a fraction of a second.
  gw = await startTestGateway({ env: { WAGATE_QR_MAX_ROUNDS: '1', WAGATE_BODY_LIMIT_BYTES: '2048' } });
});

afterAll(async () => {
  await gw?.close();
});

async function statusOf(gate: Call): Promise<string> {
  return (await gate('GET', '/health?wakeup=false')).body.status.text;
}

/** Waits for `text`, then answers the Health in that status (checked against Whapi's schema). */
async function healthIn(gate: Call, text: string, validate: ValidateFunction = health): Promise<Record<string, unknown>> {
  await until(async () => (await statusOf(gate)) === text, text);
  const res = await gate('GET', '/health?wakeup=false');
  expect(res.status).toBe(200);
  expect(res.body.status.text).toBe(text);
  expectValid(validate, res.body);
  return res.body;
}

describe("GET /health validates against Whapi's Health in every status", () => {
  let ch: { id: string; token: string; gate: Call };
  const restart = async (): Promise<void> => {
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/restart`)).status).toBe(200);
  };

  beforeAll(async () => {
    ch = await gw.createChannel({ sandbox: FAST, start: false });
  });

  it('NOT_INIT', async () => {
    const body = await healthIn(ch.gate, 'NOT_INIT');
    expect(body.status).toEqual({ code: 0, text: 'NOT_INIT' });
  });

  it('INIT (a start held in INIT)', async () => {
    expect((await ch.gate('POST', '/sandbox/stuck', { phase: 'INIT' })).status).toBe(200);
    await ch.gate('GET', '/health');
    const body = await healthIn(ch.gate, 'INIT');
    expect(body.status).toEqual({ code: 1, text: 'INIT' });
  });

  it('LAUNCH (a start held in LAUNCH)', async () => {
    expect((await ch.gate('POST', '/sandbox/stuck', { phase: 'LAUNCH' })).status).toBe(200);
    await restart();
    const body = await healthIn(ch.gate, 'LAUNCH');
    expect(body.status).toEqual({ code: 2, text: 'LAUNCH' });
  });

  it('QR', async () => {
    await restart();
    const body = await healthIn(ch.gate, 'QR');
    expect(body.status).toEqual({ code: 3, text: 'QR' });
  });

  it('AUTH, with the linked user as a Whapi Contact', async () => {
    expect((await ch.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Jonathan' } })).status).toBe(200);
    const body = await healthIn(ch.gate, 'AUTH');
    expect(body.status).toEqual({ code: 4, text: 'AUTH' });
    expect(body.user).toEqual({ id: '61371989950', name: 'Jonathan' });
  });

  it('SYNC_ERROR', async () => {
    expect((await ch.gate('POST', '/sandbox/sync_error')).status).toBe(200);
    const body = await healthIn(ch.gate, 'SYNC_ERROR');
    expect(body.status).toEqual({ code: 6, text: 'SYNC_ERROR' });
  });

  it('ERROR (replaced by another session)', async () => {
    expect((await ch.gate('POST', '/sandbox/fail', { reason: 'replaced' })).status).toBe(200);
    const body = await healthIn(ch.gate, 'ERROR');
    expect(body.status).toEqual({ code: 5, text: 'ERROR' });
  });

  it('STOP (with STOP added to the enum, SPEC §1)', async () => {
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    const body = await healthIn(ch.gate, 'STOP', healthWithStop);
    expect(body.status).toEqual({ code: 7, text: 'STOP' });
    // Whapi's unmodified schema does not know STOP: the widening above is what makes it pass.
    expect(health(body)).toBe(false);
  });

  it('the health inside GET /partner/channels/{id}', async () => {
    const res = await gw.partner('GET', `/partner/channels/${ch.id}`);
    expect(res.status).toBe(200);
    expectValid(healthWithStop, res.body.health);
  });
});

describe("GET /users/login and /users/login/rowdata validate against Whapi's QR", () => {
  it('WAITING before the first QR', async () => {
    const ch = await gw.createChannel({ sandbox: FAST, start: false });
    expect((await ch.gate('POST', '/sandbox/stuck', { phase: 'INIT' })).status).toBe(200);
    for (const path of ['/users/login', '/users/login/rowdata']) {
      const res = await ch.gate('GET', path);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('WAITING');
      expectValid(qr, res.body);
    }
    await gw.partner('POST', `/partner/channels/${ch.id}/stop`);
  });

  it('OK while a QR is showing', async () => {
    const ch = await gw.createChannel({ sandbox: FAST });
    await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR');
    const login = await ch.gate('GET', '/users/login');
    expect(login.body.status).toBe('OK');
    expectValid(qr, login.body);
    expect(Object.keys(login.body).sort()).toEqual(['base64', 'expire', 'rowdata', 'status']);
    const row = await ch.gate('GET', '/users/login/rowdata');
    expect(row.body.status).toBe('OK');
    expectValid(qr, row.body);
  });

  it('TIMEOUT once pairing rounds ran out (parked)', async () => {
    const ch = await gw.createChannel({ sandbox: { ...FAST, qr_first_ms: 100, qr_per_round: 1 } });
    await until(async () => (await ch.gate('GET', '/users/login?wakeup=false')).body.status === 'TIMEOUT', 'TIMEOUT');
    for (const path of ['/users/login?wakeup=false', '/users/login/rowdata?wakeup=false']) {
      const res = await ch.gate('GET', path);
      expect(res.body).toEqual({ status: 'TIMEOUT' });
      expectValid(qr, res.body);
    }
    // The parked channel's health still validates: status stays QR.
    expectValid(health, (await ch.gate('GET', '/health?wakeup=false')).body);
  });
});

describe("error answers validate against Whapi's ResponseError, with code = HTTP status", () => {
  let ch: { id: string; token: string; gate: Call };

  beforeAll(async () => {
    ch = await gw.createChannel({ sandbox: FAST });
    await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR');
  });

  it('401 without a token, with a wrong token, and need-authorization while not AUTH', async () => {
    expectWhapiError(await client(gw.url)('GET', '/health'), 401);
    expectWhapiError(await client(gw.url, 'wrong')('GET', '/users/login'), 401);
    expectWhapiError(await client(gw.url, ADMIN_TOKEN)('GET', '/health'), 401);
    const profile = await ch.gate('GET', '/users/profile');
    expectWhapiError(profile, 401);
    expect(profile.body.error.message).toBe('need channel authorization');
  });

  it('403 for a channel token on the partner API', async () => {
    expectWhapiError(await ch.gate('GET', '/partner/channels/list'), 403);
  });

  it('404 for an unknown route and an unknown channel', async () => {
    expectWhapiError(await ch.gate('GET', '/no/such/route'), 404);
    expectWhapiError(await gw.partner('GET', '/partner/channels/NOSUCH-CHANL'), 404);
  });

  it('405 for a wrong method', async () => {
    const res = await ch.gate('DELETE', '/health');
    expectWhapiError(res, 405);
    expect(res.headers.get('allow')).toContain('GET');
  });

  it('400 for a wrong query, a wrong body and malformed JSON', async () => {
    expectWhapiError(await ch.gate('GET', '/health?wakeup=perhaps'), 400);
    expectWhapiError(await ch.gate('POST', '/sandbox/blip', { duration_ms: 'long' }), 400);
    expectWhapiError(await gw.partner('PUT', '/partner/channels', { name: 'x', engine: 'telegram' }), 400);
    const res = await fetch(`${gw.url}/partner/channels`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expectWhapiError({ status: res.status, body: await res.json(), headers: res.headers }, 400);
  });

  it('409 for login while AUTH and for logout without an account', async () => {
    expectWhapiError(await ch.gate('POST', '/users/logout'), 409);
    await ch.gate('POST', '/sandbox/scan', {});
    await until(async () => (await statusOf(ch.gate)) === 'AUTH', 'AUTH');
    const login = await ch.gate('GET', '/users/login');
    expectWhapiError(login, 409);
    expect(login.body.error.message).toBe('Channel already authenticated');
  });

  it('413 for an oversized body and 415 for a body that is not JSON', async () => {
    expectWhapiError(await gw.partner('PUT', '/partner/channels', { name: 'x', pad: 'p'.repeat(4096) }), 413);
    const res = await fetch(`${gw.url}/partner/channels`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' },
      body: 'name\nx',
    });
    expectWhapiError({ status: res.status, body: await res.json(), headers: res.headers }, 415);
  });
});
