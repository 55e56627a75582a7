import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { client, until, type Call } from '../support/http.js';

const FAST = { init_ms: 20, launch_ms: 20 };
const ID = /^[A-Z]+-[A-Z0-9]{5}$/;

interface PartnerChannel {
  id: string;
  name: string;
  token?: string;
  engine: string;
  status: { code: number; text: string };
  creationTS: number;
  stopped: boolean;
  apiUrl: string;
  health?: { channel_id: string; start_at: number; uptime: number; status: { code: number; text: string }; user?: unknown };
}

interface ErrorAnswer {
  error: { code: number; message: string; details?: string };
}

interface HistoryRow {
  from: string;
  to: string;
  reason: string;
}

describe('the partner API', () => {
  let gw: TestGateway;
  let partner: Call;

  const create = (body: Record<string, unknown>) => partner<PartnerChannel & Partial<ErrorAnswer>>('PUT', '/partner/channels', body);
  const get = (id: string) => partner<PartnerChannel & Partial<ErrorAnswer>>('GET', `/partner/channels/${id}`);
  const statusOf = async (gate: Call): Promise<string> => (await gate('GET', '/health?wakeup=false')).body.status.text;
  const history = async (gate: Call): Promise<HistoryRow[]> => (await gate<{ history: HistoryRow[] }>('GET', '/health/history?count=500')).body.history;

  beforeAll(async () => {
    gw = await startTestGateway();
    partner = gw.partner;
  });

  afterAll(async () => {
    await gw?.close();
  });

  describe('PUT /partner/channels', () => {
    it('creates a channel and answers id, name, token, engine, status, creationTS, stopped and apiUrl', async () => {
      const before = Date.now();
      const res = await create({ name: 'Shop front', engine: 'sandbox', sandbox: FAST });
      expect(res.status).toBe(200);
      const ch = res.body;
      expect(ch.id).toMatch(ID);
      expect(ch.name).toBe('Shop front');
      expect(typeof ch.token).toBe('string');
      expect(ch.token!.length).toBeGreaterThanOrEqual(20);
      expect(ch.engine).toBe('sandbox');
      expect(ch.status.text).toMatch(/^(INIT|LAUNCH|QR)$/);
      expect(ch.status.code).toBeGreaterThanOrEqual(1);
      expect(ch.creationTS).toBeGreaterThanOrEqual(before - 1000);
      expect(ch.creationTS).toBeLessThanOrEqual(Date.now() + 1000);
      expect(ch.stopped).toBe(false);
      expect(ch.apiUrl).toBe(gw.url);

      const gate = client(gw.url, ch.token);
      expect((await gate('GET', '/health?wakeup=false')).body.channel_id).toBe(ch.id);
    });

    it('creates a channel that waits in NOT_INIT with start: false', async () => {
      const res = await create({ name: 'later', engine: 'sandbox', start: false });
      expect(res.status).toBe(200);
      expect(res.body.status).toEqual({ code: 0, text: 'NOT_INIT' });
      expect((await get(res.body.id)).body.status.text).toBe('NOT_INIT');
    });

    it('gives every channel its own id and token', async () => {
      const made = await Promise.all([1, 2, 3, 4, 5].map((n) => create({ name: `many ${n}`, engine: 'sandbox', start: false })));
      expect(new Set(made.map((m) => m.body.id)).size).toBe(5);
      expect(new Set(made.map((m) => m.body.token)).size).toBe(5);
      for (const m of made) expect(m.body.id).toMatch(ID);
    });

    it.each([
      ['an unknown engine', { name: 'x', engine: 'whatsmeow' }, 'body.engine'],
      ['sandbox options on another engine', { name: 'x', engine: 'baileys', sandbox: FAST }, 'body.sandbox'],
      ['a sandbox option of the wrong type', { name: 'x', engine: 'sandbox', sandbox: { init_ms: 'fast' } }, 'body.sandbox.init_ms'],
      ['a sandbox option out of range', { name: 'x', engine: 'sandbox', sandbox: { qr_first_ms: 5 } }, 'body.sandbox.qr_first_ms'],
      ['an unknown sandbox option', { name: 'x', engine: 'sandbox', sandbox: { warp_speed: true } }, 'warp_speed'],
      ['sandbox options that are not an object', { name: 'x', engine: 'sandbox', sandbox: 'fast' }, 'body.sandbox'],
      ['no name', { engine: 'sandbox' }, 'name'],
      ['an empty name', { name: '', engine: 'sandbox' }, 'body.name'],
      ['settings that are not settings', { name: 'x', engine: 'sandbox', settings: { callback_backoff_delay_ms: 1 } }, 'callback_backoff_delay_ms'],
    ])('refuses %s with 400 and creates nothing', async (_what, body, named) => {
      const { total } = (await partner<{ total: number }>('GET', '/partner/channels/list')).body;
      const res = await create(body);
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe(400);
      expect(res.body.error?.details).toContain(named);
      expect((await partner<{ total: number }>('GET', '/partner/channels/list')).body.total).toBe(total);
    });
  });

  describe('GET /partner/channels/list', () => {
    it('pages with count and offset and reports the total', async () => {
      const all = await partner<{ channels: PartnerChannel[]; total: number }>('GET', '/partner/channels/list?count=1000');
      expect(all.status).toBe(200);
      const total = all.body.total;
      expect(total).toBe(all.body.channels.length);
      expect(total).toBeGreaterThanOrEqual(3);
      for (const ch of all.body.channels) {
        expect(ch.id).toMatch(ID);
        expect(ch).not.toHaveProperty('token');
        expect(ch.apiUrl).toBe(gw.url);
      }

      const first = await partner<{ channels: PartnerChannel[]; total: number }>('GET', '/partner/channels/list?count=2&offset=0');
      const rest = await partner<{ channels: PartnerChannel[]; total: number }>('GET', `/partner/channels/list?count=1000&offset=2`);
      expect(first.body.channels).toHaveLength(2);
      expect(first.body.total).toBe(total);
      expect(rest.body.total).toBe(total);
      expect([...first.body.channels, ...rest.body.channels].map((c) => c.id)).toEqual(all.body.channels.map((c) => c.id));

      const past = await partner<{ channels: PartnerChannel[]; total: number }>('GET', `/partner/channels/list?offset=${total + 10}`);
      expect(past.body.channels).toEqual([]);
      expect(past.body.total).toBe(total);
    });

    it('refuses a count out of range with 400', async () => {
      for (const q of ['count=0', 'count=-1', 'count=1001', 'offset=-1', 'count=1.5']) {
        const res = await partner('GET', `/partner/channels/list?${q}`);
        expect(res.status, q).toBe(400);
        expect(res.body.error.code).toBe(400);
      }
    });
  });

  describe('GET /partner/channels/{id}', () => {
    it('answers the channel with its health', async () => {
      const made = await create({ name: 'watched', engine: 'sandbox', sandbox: FAST });
      const gate = client(gw.url, made.body.token);
      await until(async () => (await statusOf(gate)) === 'QR', 'QR');
      const res = await get(made.body.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: made.body.id, name: 'watched', engine: 'sandbox', stopped: false, status: { code: 3, text: 'QR' } });
      expect(res.body).not.toHaveProperty('token');
      expect(res.body.health).toMatchObject({ channel_id: made.body.id, status: { code: 3, text: 'QR' } });
      expect(res.body.health!.start_at).toBe((await gate('GET', '/health?wakeup=false')).body.start_at);
    });

    it('answers 404 for an id that does not exist', async () => {
      const res = await get('NOSUCH-CHANL');
      expect(res.status).toBe(404);
      expect(res.body.error?.code).toBe(404);
    });
  });

  describe('DELETE /partner/channels/{id}', () => {
    it('deletes the channel: then 404, gone from the list, and its token answers 401', async () => {
      const made = await create({ name: 'doomed', engine: 'sandbox', sandbox: FAST });
      const gate = client(gw.url, made.body.token);
      await until(async () => (await statusOf(gate)) === 'QR', 'QR');
      await gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Doomed' } });
      await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH');
      const { total } = (await partner<{ total: number }>('GET', '/partner/channels/list')).body;

      const res = await partner('DELETE', `/partner/channels/${made.body.id}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true });

      expect((await get(made.body.id)).status).toBe(404);
      const list = await partner<{ channels: PartnerChannel[]; total: number }>('GET', '/partner/channels/list?count=1000');
      expect(list.body.total).toBe(total - 1);
      expect(list.body.channels.map((c) => c.id)).not.toContain(made.body.id);
      const after = await gate('GET', '/health');
      expect(after.status).toBe(401);
      expect(after.body.error.message).not.toBe('need channel authorization');
      expect((await partner('DELETE', `/partner/channels/${made.body.id}`)).status).toBe(404);
      for (const action of ['restart', 'stop', 'start', 'token']) {
        expect((await partner('POST', `/partner/channels/${made.body.id}/${action}`)).status, action).toBe(404);
      }
    });
  });

  describe('operator actions', () => {
    let id: string;
    let gate: Call;

    beforeAll(async () => {
      const made = await create({ name: 'operated', engine: 'sandbox', sandbox: FAST });
      id = made.body.id;
      gate = client(gw.url, made.body.token!);
      await until(async () => (await statusOf(gate)) === 'QR', 'QR');
      await gate('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Operated' } });
      await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH');
    });

    it('restart begins a new run: start_at moves, the history shows the restart, the account stays linked', async () => {
      const before = (await gate('GET', '/health?wakeup=false')).body.start_at as number;
      // start_at is in seconds: let the clock pass the run's first second so a new run can show.
      await until(() => Math.floor(Date.now() / 1000) > before, 'the next second');
      const res = await partner<PartnerChannel>('POST', `/partner/channels/${id}/restart`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(id);
      expect(res.body.stopped).toBe(false);
      expect(res.body.health?.start_at).toBeGreaterThan(before);
      await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after restart');
      const health = (await gate('GET', '/health?wakeup=false')).body;
      expect(health.start_at).toBeGreaterThan(before);
      expect(health.user).toEqual({ id: '61371989950', name: 'Operated' });

      const rows = await history(gate);
      const restart = rows.findIndex((r) => r.reason === 'operator_restart');
      expect(restart).toBeGreaterThanOrEqual(0);
      expect(rows[restart]).toMatchObject({ from: 'AUTH', to: 'INIT' });
      // Newest first: after the restart came LAUNCH and AUTH again (saved credentials, no QR).
      expect(rows.slice(0, restart).map((r) => r.to).reverse()).toEqual(['LAUNCH', 'AUTH']);
    });

    it('stop moves the channel to STOP and marks it stopped; /health does not wake it', async () => {
      const res = await partner<PartnerChannel>('POST', `/partner/channels/${id}/stop`);
      expect(res.status).toBe(200);
      expect(res.body.status).toEqual({ code: 7, text: 'STOP' });
      expect(res.body.stopped).toBe(true);
      expect((await gate('GET', '/health')).body.status.text).toBe('STOP');
      expect((await get(id)).body).toMatchObject({ stopped: true, status: { text: 'STOP' } });
      expect((await history(gate))[0]).toMatchObject({ to: 'STOP', reason: 'operator_stop' });
    });

    it('stop is idempotent: a second stop records nothing new', async () => {
      const rows = (await history(gate)).length;
      const res = await partner<PartnerChannel>('POST', `/partner/channels/${id}/stop`);
      expect(res.status).toBe(200);
      expect(res.body.status.text).toBe('STOP');
      expect((await history(gate)).length).toBe(rows);
    });

    it('start brings a stopped channel back: STOP → INIT → LAUNCH → AUTH', async () => {
      const res = await partner<PartnerChannel>('POST', `/partner/channels/${id}/start`);
      expect(res.status).toBe(200);
      expect(res.body.stopped).toBe(false);
      expect(res.body.status.text).not.toBe('STOP');
      await until(async () => (await statusOf(gate)) === 'AUTH', 'AUTH after start');
      const rows = (await history(gate)).slice(0, 3).reverse();
      expect(rows.map((r) => `${r.from}→${r.to}`)).toEqual(['STOP→INIT', 'INIT→LAUNCH', 'LAUNCH→AUTH']);
      expect((await get(id)).body.stopped).toBe(false);
    });

    it('start on a running channel changes nothing', async () => {
      const rows = (await history(gate)).length;
      const startAt = (await gate('GET', '/health?wakeup=false')).body.start_at;
      expect((await partner('POST', `/partner/channels/${id}/start`)).status).toBe(200);
      expect((await history(gate)).length).toBe(rows);
      expect((await gate('GET', '/health?wakeup=false')).body.start_at).toBe(startAt);
    });

    it('rotating the token answers a new one; the old one answers 401 and the new one reaches the same channel', async () => {
      const res = await partner<PartnerChannel>('POST', `/partner/channels/${id}/token`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(id);
      expect(typeof res.body.token).toBe('string');
      const old = await gate('GET', '/health?wakeup=false');
      expect(old.status).toBe(401);
      expect(old.body.error.code).toBe(401);
      const fresh = client(gw.url, res.body.token);
      const health = await fresh('GET', '/health?wakeup=false');
      expect(health.status).toBe(200);
      expect(health.body.channel_id).toBe(id);
      expect(health.body.status.text).toBe('AUTH');
      gate = fresh;
    });
  });
});
