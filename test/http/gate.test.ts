import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { client, until, type Call } from '../support/http.js';

const FAST = { init_ms: 20, launch_ms: 20 };
/** One QR of 100 ms per round; with WAGATE_QR_MAX_ROUNDS=1 the channel parks after it. */
const PARKS_FAST = { ...FAST, qr_first_ms: 100, qr_per_round: 1 };
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Channel {
  id: string;
  token: string;
  gate: Call;
}

interface HistoryRow {
  at: number;
  from: string;
  to: string;
  reason: string;
  detail?: string;
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_QR_MAX_ROUNDS: '1' } });
});

afterAll(async () => {
  await gw?.close();
});

async function statusOf(gate: Call): Promise<string> {
  return (await gate('GET', '/health?wakeup=false')).body.status.text;
}

async function history(gate: Call, query = 'count=500'): Promise<{ history: HistoryRow[]; total: number; count: number; offset: number }> {
  const res = await gate('GET', `/health/history?${query}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function atQr(body: Record<string, unknown> = {}): Promise<Channel> {
  const ch = await gw.createChannel({ sandbox: FAST, ...body });
  await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR');
  return ch;
}

async function paired(user = { id: '61371989950', name: 'Jonathan' }): Promise<Channel> {
  const ch = await atQr();
  expect((await ch.gate('POST', '/sandbox/scan', { user })).status).toBe(200);
  await until(async () => (await statusOf(ch.gate)) === 'AUTH', 'AUTH');
  return ch;
}

describe('GET /health', () => {
  it('answers the Health object of the channel the token belongs to', async () => {
    const ch = await paired();
    const res = await ch.gate('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      channel_id: ch.id,
      status: { code: 4, text: 'AUTH' },
      user: { id: '61371989950', name: 'Jonathan' },
      version: expect.any(String),
    });
    expect(Number.isInteger(res.body.start_at)).toBe(true);
    expect(Math.abs(res.body.start_at - Date.now() / 1000)).toBeLessThan(60);
    expect(res.body.uptime).toBeGreaterThanOrEqual(0);
  });

  it('leaves a never-started channel in NOT_INIT with wakeup=false', async () => {
    const ch = await gw.createChannel({ sandbox: FAST, start: false });
    for (let i = 0; i < 3; i++) {
      const res = await ch.gate('GET', '/health?wakeup=false');
      expect(res.body.status).toEqual({ code: 0, text: 'NOT_INIT' });
      expect(res.body.uptime).toBe(0);
    }
    expect((await ch.gate('GET', '/users/login?wakeup=false')).body).toEqual({ status: 'WAITING' });
    expect((await ch.gate('GET', '/users/login/rowdata?wakeup=false')).body).toEqual({ status: 'WAITING' });
    expect(await statusOf(ch.gate)).toBe('NOT_INIT');
    expect((await history(ch.gate)).total).toBe(0);
  });

  it('starts a never-started channel by default (wakeup=true)', async () => {
    const ch = await gw.createChannel({ sandbox: FAST, start: false });
    const res = await ch.gate('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body.status.text).not.toBe('NOT_INIT');
    await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR after wakeup');
    const rows = (await history(ch.gate)).history.reverse();
    expect(rows[0]).toMatchObject({ from: 'NOT_INIT', to: 'INIT', reason: 'wakeup' });
    expect(rows.map((r) => r.to)).toEqual(['INIT', 'LAUNCH', 'QR']);
  });

  it('starts a never-started channel with an explicit wakeup=true', async () => {
    const ch = await gw.createChannel({ sandbox: FAST, start: false });
    expect((await ch.gate('GET', '/health?wakeup=true')).body.status.text).not.toBe('NOT_INIT');
  });

  it('never wakes a stopped channel, with or without wakeup', async () => {
    const ch = await atQr();
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    const rows = (await history(ch.gate)).total;
    for (const path of ['/health', '/health?wakeup=true', '/users/login', '/users/login/rowdata?wakeup=true']) {
      await ch.gate('GET', path);
    }
    const res = await ch.gate('GET', '/health?wakeup=true');
    expect(res.body.status).toEqual({ code: 7, text: 'STOP' });
    expect(res.body.uptime).toBe(0);
    expect((await history(ch.gate)).total).toBe(rows);
  });

  it('leaves a parked channel parked with wakeup=false and starts a new pairing round by default', async () => {
    const ch = await gw.createChannel({ sandbox: PARKS_FAST });
    await until(async () => (await ch.gate('GET', '/users/login?wakeup=false')).body.status === 'TIMEOUT', 'the channel to park');
    const parkedRows = (await history(ch.gate)).total;
    expect((await ch.gate('GET', '/health?wakeup=false')).body.status.text).toBe('QR');
    expect((await ch.gate('GET', '/users/login?wakeup=false')).body).toEqual({ status: 'TIMEOUT' });
    expect((await history(ch.gate)).total).toBe(parkedRows);

    await ch.gate('GET', '/health');
    const page = await history(ch.gate);
    const sincePark = page.history.slice(0, page.total - parkedRows);
    expect(sincePark.find((r) => r.reason === 'wakeup')).toMatchObject({ from: 'QR', to: 'QR' });
    // The new round runs its one 100 ms QR and parks again.
    await until(async () => (await history(ch.gate, 'count=1')).history[0]?.reason === 'parked', 'parked again after the new round');
    expect((await history(ch.gate)).total).toBe(parkedRows + 2);
  });
});

describe('GET /health/history', () => {
  let ch: Channel;

  beforeAll(async () => {
    ch = await paired();
  });

  it('lists every transition newest first with time, from, to and reason', async () => {
    const page = await history(ch.gate);
    expect(page.total).toBe(4);
    expect(page.count).toBe(4);
    expect(page.offset).toBe(0);
    expect(page.history.map((r) => `${r.from}→${r.to}`)).toEqual(['QR→AUTH', 'LAUNCH→QR', 'INIT→LAUNCH', 'NOT_INIT→INIT']);
    for (const row of page.history) {
      expect(Number.isInteger(row.at)).toBe(true);
      expect(typeof row.reason).toBe('string');
    }
    const times = page.history.map((r) => r.at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('pages with count and offset', async () => {
    const all = (await history(ch.gate)).history;
    const first = await history(ch.gate, 'count=2');
    const second = await history(ch.gate, 'count=2&offset=2');
    const beyond = await history(ch.gate, 'count=2&offset=4');
    expect(first).toMatchObject({ total: 4, count: 2, offset: 0 });
    expect(second).toMatchObject({ total: 4, count: 2, offset: 2 });
    expect([...first.history, ...second.history]).toEqual(all);
    expect(beyond).toMatchObject({ history: [], total: 4, count: 0, offset: 4 });
  });

  it('refuses counts and offsets out of range with 400', async () => {
    for (const q of ['count=0', 'count=501', 'offset=-1', 'count=ten']) {
      const res = await ch.gate('GET', `/health/history?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe(400);
    }
  });
});

describe('GET /users/login', () => {
  it('answers WAITING while no QR exists yet', async () => {
    const ch = await gw.createChannel({ sandbox: FAST, start: false });
    expect((await ch.gate('POST', '/sandbox/stuck', { phase: 'INIT' })).status).toBe(200);
    const res = await ch.gate('GET', '/users/login');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'WAITING' });
    expect(await statusOf(ch.gate)).toBe('INIT');
    expect((await ch.gate('GET', '/users/login/rowdata')).body).toEqual({ status: 'WAITING' });
    expect((await ch.gate('GET', '/users/login/image')).status).toBe(404);
    await gw.partner('POST', `/partner/channels/${ch.id}/stop`);
  });

  it('answers OK with a base64 PNG data URL, the QR text and the seconds left', async () => {
    const ch = await atQr();
    const res = await ch.gate('GET', '/users/login');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('OK');
    expect(res.body.base64).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    const png = Buffer.from(res.body.base64.slice('data:image/png;base64,'.length), 'base64');
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(typeof res.body.rowdata).toBe('string');
    expect(res.body.rowdata.length).toBeGreaterThan(0);
    expect(res.body.expire).toBeGreaterThan(0);
    expect(res.body.expire).toBeLessThanOrEqual(60);
  });

  it('answers 409 "Channel already authenticated" when AUTH', async () => {
    const ch = await paired();
    for (const path of ['/users/login', '/users/login/rowdata', '/users/login/image']) {
      const res = await ch.gate('GET', path);
      expect(res.status, path).toBe(409);
      expect(res.body.error).toMatchObject({ code: 409, message: 'Channel already authenticated' });
    }
  });
});

describe('GET /users/login/image and /users/login/rowdata', () => {
  it('answers the current QR as image/png', async () => {
    const ch = await atQr();
    const res = await fetch(`${gw.url}/users/login/image`, { headers: { authorization: `Bearer ${ch.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/png/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(bytes.length).toBeGreaterThan(100);
  });

  it('answers the QR object without the image, with the same QR text as /users/login', async () => {
    const ch = await atQr();
    const login = await ch.gate('GET', '/users/login');
    const row = await ch.gate('GET', '/users/login/rowdata');
    expect(row.status).toBe(200);
    expect(row.body).not.toHaveProperty('base64');
    expect(row.body).toMatchObject({ status: 'OK', rowdata: login.body.rowdata });
    expect(row.body.expire).toBeGreaterThan(0);
  });
});

describe('GET /users/login/{phone}', () => {
  const badPhones = ['abc', '%2B61371989950', '123456', '1234567890123456', '6137%20198%209950', '61-371-989-950'];

  it('answers 400 in the error shape for anything but 7-15 digits', async () => {
    const ch = await atQr();
    for (const phone of badPhones) {
      const res = await ch.gate('GET', `/users/login/${phone}`);
      expect(res.status, phone).toBe(400);
      expect(res.body.error.code).toBe(400);
      expect(res.body.error.details, phone).toMatch(/digits/);
    }
  });

  it('says "Invalid phone number" as the error message (as 409 says "Channel already authenticated")', async () => {
    const ch = await atQr();
    for (const phone of badPhones) {
      const res = await ch.gate('GET', `/users/login/${phone}`);
      expect(res.body.error.message, phone).toBe('Invalid phone number');
    }
  });

  it.each(['1234567', '61371989950', '123456789012345'])('answers a pairing code like ABCD-EFGH for %s while QR', async (phone) => {
    const ch = await atQr();
    const res = await ch.gate('GET', `/users/login/${phone}`);
    expect(res.status).toBe(200);
    expect(res.body.code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  });

  it('pairs when the phone confirms the code', async () => {
    const ch = await atQr();
    expect((await ch.gate('GET', '/users/login/61371989950')).status).toBe(200);
    expect((await ch.gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Coded' } })).status).toBe(200);
    expect((await ch.gate('GET', '/health')).body.user).toEqual({ id: '61371989950', name: 'Coded' });
  });

  it('answers 409 at once on a channel that is not pairing (a stopped one)', async () => {
    const ch = await atQr();
    expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
    const started = Date.now();
    const res = await ch.gate('GET', '/users/login/61371989950');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ message: 'channel is not pairing', details: expect.stringContaining('STOP') });
    // It used to wait 15 s for a QR that could not come.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers 409 "Channel already authenticated" when AUTH', async () => {
    const ch = await paired();
    const res = await ch.gate('GET', '/users/login/61371989950');
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe('Channel already authenticated');
  });
});

describe('POST /users/logout', () => {
  it('logs out: success, the user is gone, and a new pairing round starts', async () => {
    const ch = await paired();
    const res = await ch.gate('POST', '/users/logout');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect((await ch.gate('GET', '/health?wakeup=false')).body).not.toHaveProperty('user');
    await until(async () => (await statusOf(ch.gate)) === 'QR', 'QR after logout');
    expect((await ch.gate('GET', '/health')).body).not.toHaveProperty('user');
    expect((await ch.gate('GET', '/users/login')).body.status).toBe('OK');
    const rows = (await history(ch.gate)).history.slice(0, 3).reverse();
    expect(rows.map((r) => `${r.from}→${r.to}`)).toEqual(['AUTH→INIT', 'INIT→LAUNCH', 'LAUNCH→QR']);
    expect(rows[0]?.reason).toBe('logout');
    expect((await ch.gate('GET', '/users/profile')).status).toBe(401);
  });

  it('answers 409 "Channel already logged out" when no account is linked', async () => {
    const ch = await atQr();
    const res = await ch.gate('POST', '/users/logout');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 409, message: 'Channel already logged out' });
    expect(await statusOf(ch.gate)).toBe('QR');
  });

  it('answers 409 to a second logout', async () => {
    const ch = await paired();
    expect((await ch.gate('POST', '/users/logout')).status).toBe(200);
    const again = await ch.gate('POST', '/users/logout');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe('Channel already logged out');
  });
});

describe('GET /users/profile', () => {
  it('answers 401 "need channel authorization" while not AUTH, naming the status', async () => {
    const ch = await atQr();
    const res = await ch.gate('GET', '/users/profile');
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 401, message: 'need channel authorization' });
    expect(res.body.error.details).toContain('QR');
  });

  it('answers the linked account after a scan', async () => {
    const ch = await paired({ id: '61371989953', name: 'Profiled' });
    const res = await ch.gate('GET', '/users/profile');
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Profiled');
    expect(typeof res.body.about).toBe('string');
    expect(typeof res.body.icon).toBe('string');
  });
});

describe('the channel token', () => {
  it('is accepted as ?token= as well as a Bearer header', async () => {
    const ch = await atQr();
    const byQuery = client(gw.url);
    const health = await byQuery('GET', `/health?wakeup=false&token=${encodeURIComponent(ch.token)}`);
    expect(health.status).toBe(200);
    expect(health.body.channel_id).toBe(ch.id);
    expect((await byQuery('GET', `/users/login?token=${ch.token}`)).body.status).toBe('OK');
    expect((await byQuery('GET', `/health/history?count=1&token=${ch.token}`)).status).toBe(200);
    expect((await byQuery('GET', `/users/login/61371989950?token=${ch.token}`)).status).toBe(200);
    expect((await byQuery('POST', `/users/logout?token=${ch.token}`)).status).toBe(409);
    expect((await ch.gate('GET', '/health?wakeup=false')).body.channel_id).toBe(ch.id);
  });

  it('answers 401 (not "need channel authorization") to a missing or unknown token', async () => {
    for (const res of [await client(gw.url)('GET', '/health'), await client(gw.url, 'nope')('GET', '/users/profile')]) {
      expect(res.status).toBe(401);
      expect(res.body.error.message).not.toBe('need channel authorization');
    }
  });
});
