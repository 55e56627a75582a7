import { afterAll, describe, expect, it } from 'vitest';
import { databaseKinds, type TestDatabase } from '../support/databases.js';
import { client, until } from '../support/http.js';
import { startGatewayProcess, type GatewayProcess } from '../support/process.js';
import { seeded, startReceiver, type Receiver } from '../support/receiver.js';

const ADMIN = 'crash-admin-token-0123456789abcdef';
const CHANNELS = 3;
const KILLS = 6;
/** In this round the gateway kills itself between an engine's send and its record. */
const KILL_IN_TRANSACTION_ROUND = 2;
const kinds = await databaseKinds();

interface HistoryRow { from: string; to: string }
interface DeliveryRow { webhook_id: string; status: string; channel_id: string }

describe.each(kinds)('webhooks across SIGKILLs on %s', (_kind, makeDb) => {
  if (!makeDb) {
    it.skip('needs PostgreSQL (skipped: no server answered)', () => undefined);
    return;
  }
  let db: TestDatabase;
  let gw: GatewayProcess | null = null;
  let receiver: Receiver;

  afterAll(async () => {
    await gw?.kill('SIGKILL');
    await receiver?.close();
    await db?.drop();
  });

  it('delivers every event at least once, first arrivals in order, while channels flap and the receiver fails', async () => {
    db = await makeDb();
    receiver = await startReceiver({ errors: 0.08, drops: 0.04, slow: 0.1, slowMs: 150, random: seeded(7) });
    const env = { ...db.env, WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_WEBHOOK_TIMEOUT_MS: '2000' };
    gw = await startGatewayProcess(env);

    const events = ['channel', 'users', 'alerts'].flatMap((type) => ['post', 'patch', 'delete'].map((method) => ({ type, method })))
      .filter((e) => ['channel.post', 'channel.patch', 'users.post', 'users.delete', 'alerts.post'].includes(`${e.type}.${e.method}`));
    const tokens: string[] = [];
    for (let i = 0; i < CHANNELS; i++) {
      const res = await client(gw.url, ADMIN)<{ token: string }>('PUT', '/partner/channels', {
        name: `crash-${i}`,
        engine: 'sandbox',
        sandbox: { init_ms: 30, launch_ms: 60 },
        settings: { callback_backoff_delay_ms: 3000, webhooks: [{ url: `${receiver.url}/hook`, events, mode: 'body' }] },
      });
      expect(res.status).toBe(200);
      tokens.push(res.body.token);
    }

    // Message traffic beside the status changes: sends with Idempotency-Keys and inbound messages.
    const attempted: Array<{ token: string; key: string }> = [];
    const answeredId = new Map<string, string>();
    const inboundRecorded: Array<{ token: string; id: string }> = [];
    const traffic: Promise<unknown>[] = [];
    const sendWithKey = (url: string, token: string, key: string): Promise<unknown> =>
      client(url, token)<{ message: { id: string } }>('POST', '/messages/text', { to: '61400111222', body: key }, { 'idempotency-key': key })
        .then((res) => {
          if (res.status === 200) answeredId.set(key, res.body.message.id);
        })
        .catch(() => undefined);

    for (let round = 0; round < KILLS; round++) {
      // Drive every channel: pair it if it shows a QR, make it flap once it is AUTH, and move
      // messages both ways. The gateway may die under us (the in-transaction round): stop then.
      const deadline = Date.now() + 2_500;
      let step = 0;
      try {
        while (Date.now() < deadline && gw.child.exitCode === null && gw.child.signalCode === null) {
          for (const token of tokens) {
            const gate = client(gw.url, token);
            const health = await gate<{ status: { text: string } }>('GET', '/health');
            if (health.body.status.text === 'QR') await gate('POST', '/sandbox/scan');
            else if (health.body.status.text === 'AUTH') {
              const key = `r${round}-${tokens.indexOf(token)}-${step}`;
              attempted.push({ token, key });
              traffic.push(sendWithKey(gw.url, token, key));
              const inbound = await gate<{ message_id: string; recorded: boolean }>('POST', '/sandbox/inbound', { from: '61400999000', body: `in-${key}` });
              if (inbound.status === 200 && inbound.body.recorded) inboundRecorded.push({ token, id: inbound.body.message_id });
              if (step % 3 === 0) await gate('POST', '/sandbox/flap', { times: 2, interval_ms: 300, duration_ms: 150 });
            }
          }
          step++;
          await new Promise((r) => setTimeout(r, 200));
        }
      } catch (err) {
        if (round !== KILL_IN_TRANSACTION_ROUND) throw err;
      }
      expect(await gw.kill('SIGKILL')).toBeNull();
      gw = await startGatewayProcess(round + 1 === KILL_IN_TRANSACTION_ROUND ? { ...env, WAGATE_FAULT_KILL_AFTER_SEND: '2' } : env);
    }
    await Promise.all(traffic);

    // Settle: let every channel reach AUTH, then wait until nothing is pending.
    for (const token of tokens) {
      await until(async () => (await client(gw!.url, token)<{ status: { text: string } }>('GET', '/health')).body.status.text === 'AUTH', 'AUTH after the last restart', 20_000);
    }
    await until(
      async () => {
        for (const token of tokens) {
          const res = await client(gw!.url, token)<{ total: number }>('GET', '/webhooks/deliveries?status=pending&count=1');
          if (res.body.total > 0) return false;
        }
        return true;
      },
      'the outbox to drain',
      120_000,
      250,
    );

    const firstArrival = new Map<string, { json: Record<string, unknown>; index: number }>();
    receiver.received.forEach((r, index) => {
      const id = String(r.headers['webhook-id']);
      if (!firstArrival.has(id)) firstArrival.set(id, { json: r.json, index });
    });

    for (const token of tokens) {
      const gate = client(gw.url, token);
      const log = await gate<{ deliveries: DeliveryRow[]; total: number }>('GET', '/webhooks/deliveries?count=500');
      expect(log.body.total).toBeLessThanOrEqual(500);
      expect(log.body.deliveries.filter((d) => d.status !== 'delivered')).toEqual([]);
      // Every event the store holds for this channel reached the receiver.
      const ids = log.body.deliveries.map((d) => d.webhook_id);
      expect(ids.filter((id) => !firstArrival.has(id))).toEqual([]);

      // First arrivals of this channel came in production order (webhook-id is msg_<seq>).
      const channelId = log.body.deliveries[0]?.channel_id;
      const arrivals = [...firstArrival.entries()]
        .filter(([, a]) => a.json.channel_id === channelId)
        .sort((a, b) => a[1].index - b[1].index);
      const seqs = arrivals.map(([id]) => Number(id.replace('msg_', '')));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

      // Independently of the outbox: the statuses received are exactly the status history.
      const history = await gate<{ history: HistoryRow[] }>('GET', '/health/history?count=500');
      const transitions = [...history.body.history].reverse().filter((h) => h.from !== h.to).map((h) => h.to);
      const statuses = arrivals
        .map(([, a]) => a.json)
        .filter((j) => (j.event as { type: string }).type === 'channel' && (j.event as { event: string }).event === 'post')
        .map((j) => (j.health as { status: { text: string } }).status.text);
      expect(statuses).toEqual(transitions);
      expect(transitions.length).toBeGreaterThan(KILLS * 3);
    }
    // The receiver really failed some attempts, so retries were exercised.
    expect(receiver.received.length).toBeGreaterThan(firstArrival.size);

    // Messages: a key answers its first answer, or "outcome unknown" when the gateway died
    // between the send and its record; no key produced two messages; every recorded inbound
    // message and every answered send is listed.
    let unknown = 0;
    for (const { token, key } of attempted) {
      const res = await client(gw.url, token)<{ message?: { id: string }; error?: { message: string } }>(
        'POST',
        '/messages/text',
        { to: '61400111222', body: key },
        { 'idempotency-key': key },
      );
      const earlier = answeredId.get(key);
      if (earlier) {
        expect(res.status).toBe(200);
        expect(res.body.message?.id).toBe(earlier);
      } else if (res.status === 409) {
        expect(res.body.error?.message).toBe('send outcome unknown');
        unknown++;
      } else {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        answeredId.set(key, res.body.message!.id);
      }
    }
    expect(unknown).toBeGreaterThan(0);
    for (const token of tokens) {
      const listed = await client(gw.url, token)<{ messages: Array<{ id: string; from_me: boolean; text?: { body: string } }> }>('GET', '/messages/list?count=500');
      const ids = new Set(listed.body.messages.map((m) => m.id));
      const bodies = listed.body.messages.filter((m) => m.from_me).map((m) => m.text?.body);
      expect(bodies.length).toBe(new Set(bodies).size);
      const mine = attempted.filter((a) => a.token === token).map((a) => answeredId.get(a.key)).filter((id): id is string => id !== undefined);
      expect(mine.filter((id) => !ids.has(id))).toEqual([]);
      expect(inboundRecorded.filter((r) => r.token === token && !ids.has(r.id))).toEqual([]);
    }
  }, 300_000);
});
