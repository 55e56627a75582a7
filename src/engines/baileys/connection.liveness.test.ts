import { describe, expect, it } from 'vitest';
import { EngineClosedError, EngineSendError, type SentText } from '../engine.js';
import { boom, engineHarness as harness } from './testing.js';

const CHAT = '15557654321@s.whatsapp.net';
const text = (over: Record<string, unknown> = {}) => ({ chatId: CHAT, body: 'hi', linkPreview: false, ...over });

/** An open connection of a linked account over a fake socket, in virtual time. */
async function openConnection(options: Record<string, unknown> = {}) {
  const h = harness({ options });
  h.link({ accountSyncCounter: 1 });
  const { conn, sock } = await h.attempt();
  await sock.connecting();
  await sock.open();
  await sock.pendingNotificationsReceived();
  h.events.length = 0;
  return { ...h, conn, sock };
}

/** Records how a send ends, without awaiting it. */
function track(p: Promise<SentText>): { value: SentText | Error | null } {
  const box: { value: SentText | Error | null } = { value: null };
  p.then(
    (v) => (box.value = v),
    (e: Error) => (box.value = e),
  );
  return box;
}

describe('baileys connection: a sent message and its server ack', () => {
  it('answers sent once WhatsApp acked the message, without probing', async () => {
    const h = await openConnection();
    h.sock.holdAcks = true;
    const sent = track(h.conn.sendText(text()));
    await h.clock.advance(2_000);
    expect(sent.value).toBeNull();
    h.sock.ack(h.sock.sent[0]!.options!.messageId!);
    await h.clock.advance(1);
    expect(sent.value).toMatchObject({ status: 'sent', id: h.sock.sent[0]!.options!.messageId });
    expect(h.sock.queries).toStrictEqual([]);
  });

  it('refuses a message WhatsApp acked with an error', async () => {
    const h = await openConnection();
    h.sock.ackError = '479';
    const err = await h.conn.sendText(text()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineSendError);
    expect((err as Error).message).toBe('WhatsApp refused the message: error 479');
  });

  it('probes 3 s after the send without an ack, and declares the connection lost 3 s later, naming the unacked id', async () => {
    const h = await openConnection();
    h.sock.silent = true;
    const sent = track(h.conn.sendText(text()));
    const id = h.sock.sent[0]!.options!.messageId!;
    await h.clock.advance(2_999);
    expect(h.sock.queries).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.sock.queries.map((q) => q.attrs.xmlns)).toStrictEqual(['w:p']);
    await h.clock.advance(2_999);
    expect(h.signals()).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.events).toStrictEqual([{ type: 'close', reason: 'transient', detail: 'no answer from WhatsApp for 6 s' }]);
    expect(sent.value).toBeInstanceOf(EngineClosedError);
    expect((sent.value as EngineClosedError).unacknowledged).toBe(id);
    expect(h.sock.ended.map((e) => e?.message)).toStrictEqual(['no answer from WhatsApp for 6 s']);
  });

  it('answers pending when the ack is late but the probe is answered, then reports sent when the ack comes', async () => {
    const h = await openConnection();
    h.sock.holdAcks = true;
    const sent = track(h.conn.sendText(text()));
    const id = h.sock.sent[0]!.options!.messageId!;
    await h.clock.advance(3_000);
    expect(sent.value).toMatchObject({ id, status: 'pending' });
    await h.clock.advance(60_000);
    expect(h.signals()).toStrictEqual([]);
    h.sock.ack(id);
    await h.clock.advance(1);
    expect(h.events).toStrictEqual([{ type: 'receipt', id, chatId: CHAT, status: 'sent', timestamp: expect.any(Number) }]);
  });

  it('re-sends under the id it is given', async () => {
    const h = await openConnection();
    const sent = await h.conn.sendText(text({ id: '3EB0RESEND00000000000A' }));
    expect(sent).toMatchObject({ id: '3EB0RESEND00000000000A', status: 'sent' });
    expect(h.sock.sent[0]!.options!.messageId).toBe('3EB0RESEND00000000000A');
  });

  it('fails a send waiting for its ack with the id when Baileys closes the connection', async () => {
    const h = await openConnection();
    h.sock.holdAcks = true;
    const sent = track(h.conn.sendText(text()));
    await h.clock.advance(1_000);
    await h.sock.close(boom('Connection Terminated', 428));
    await h.clock.advance(1);
    expect(sent.value).toBeInstanceOf(EngineClosedError);
    expect((sent.value as EngineClosedError).unacknowledged).toBe(h.sock.sent[0]!.options!.messageId);
    expect(h.signals()).toStrictEqual(['close:transient']);
  });

  it('honours the channel\'s ack window and probe timeout', async () => {
    const h = await openConnection({ ack_window_ms: 1_000, probe_timeout_ms: 500 });
    h.sock.silent = true;
    track(h.conn.sendText(text()));
    await h.clock.advance(1_500);
    expect(h.events).toStrictEqual([{ type: 'close', reason: 'transient', detail: 'no answer from WhatsApp for 2 s' }]);
  });
});

describe('baileys connection: a silent connection at rest', () => {
  it('does not probe while frames keep coming at the keep-alive rate', async () => {
    const h = await openConnection();
    for (let i = 0; i < 5; i++) {
      await h.clock.advance(30_000);
      h.sock.receive({ tag: 'iq', attrs: { type: 'result', id: `ping-${i}` } });
    }
    expect(h.sock.queries).toStrictEqual([]);
    expect(h.signals()).toStrictEqual([]);
  });

  it('probes after one keep-alive interval and the ack window of silence, and is lost 3 s later (36 s)', async () => {
    const h = await openConnection();
    h.sock.silent = true;
    await h.clock.advance(32_999);
    expect(h.sock.queries).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.sock.queries).toHaveLength(1);
    await h.clock.advance(3_000);
    expect(h.events).toStrictEqual([{ type: 'close', reason: 'transient', detail: 'no answer from WhatsApp for 36 s' }]);
    expect(h.sock.config.keepAliveIntervalMs).toBe(30_000);
  });

  it('keeps the connection when the probe is answered', async () => {
    const h = await openConnection();
    await h.clock.advance(33_000);
    expect(h.sock.queries).toHaveLength(1);
    await h.clock.advance(10_000);
    expect(h.signals()).toStrictEqual([]);
  });

  it('watches nothing before the connection opens', async () => {
    const h = harness();
    h.link({ accountSyncCounter: 1 });
    const { sock } = await h.attempt();
    await sock.connecting();
    await h.clock.advance(120_000);
    expect(sock.queries).toStrictEqual([]);
  });
});
