import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { client, until } from '../support/http.js';

interface SseEvent { id: number; name: string; data: Record<string, unknown> }

type Stream = AbortController & { opened: () => boolean; ended: () => boolean };

/**
 * Reads a Server-Sent Events stream into `events` until `abort`; `opened` turns true on its
 * first bytes, `ended` once the server ended it. A null token sends none (it is in the URL).
 */
function openStream(url: string, token: string | null, events: SseEvent[], lastEventId?: number): Stream {
  let opened = false;
  let ended = false;
  const abort = Object.assign(new AbortController(), { opened: () => opened, ended: () => ended });
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  void (async () => {
    const res = await fetch(url, { headers, signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      opened = true;
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && name && data) events.push({ id: Number(id), name, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
    ended = true;
  })().catch(() => undefined);
  return abort;
}

const statusOf = (e: SseEvent): string | undefined => (e.data.health as { status: { text: string } } | undefined)?.status.text;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('the event streams', () => {
  it("streams a channel's events live on /events and resumes after Last-Event-ID", async () => {
    const ch = await gw.createChannel({ start: false, sandbox: { init_ms: 20, launch_ms: 20 } });
    const live: SseEvent[] = [];
    const first = openStream(`${gw.url}/events`, ch.token, live);
    // The stream starts with the next event: once it is open, wake the channel and watch it reach QR.
    await until(() => first.opened(), 'the stream to open');
    await ch.gate('GET', '/health');
    await until(() => live.some((e) => e.name === 'channel.patch'), 'the QR on the stream');
    expect(live.filter((e) => e.name === 'channel.post').map(statusOf)).toEqual(['INIT', 'LAUNCH', 'QR']);
    expect(live.every((e) => e.data.channel_id === ch.id)).toBe(true);
    const ids = live.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    first.abort();

    // Events that happen while no one listens are there on resume, after the last id seen.
    const lastSeen = ids.at(-1) as number;
    await ch.gate('POST', '/sandbox/scan', {});
    await until(async () => (await ch.gate<{ status: { text: string } }>('GET', '/health')).body.status.text === 'AUTH', 'AUTH');
    const resumed: SseEvent[] = [];
    const second = openStream(`${gw.url}/events`, ch.token, resumed, lastSeen);
    await until(() => resumed.some((e) => e.name === 'users.post'), 'the missed events');
    expect(resumed.every((e) => e.id > lastSeen)).toBe(true);
    expect(resumed.map((e) => e.name)).toEqual(['channel.post', 'users.post']);
    expect(statusOf(resumed[0] as SseEvent)).toBe('AUTH');
    second.abort();
  });

  it("streams every channel's events on /partner/events for the admin only", async () => {
    const all: SseEvent[] = [];
    const stream = openStream(`${gw.url}/partner/events`, ADMIN_TOKEN, all, 0);
    const a = await gw.createChannel({ sandbox: { init_ms: 20, launch_ms: 20 } });
    const b = await gw.createChannel({ sandbox: { init_ms: 20, launch_ms: 20 } });
    await until(() => [a.id, b.id].every((id) => all.some((e) => e.data.channel_id === id && statusOf(e) === 'QR')), 'both channels in QR');
    stream.abort();
    expect((await fetch(`${gw.url}/partner/events`, { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(403);
    expect((await fetch(`${gw.url}/events`)).status).toBe(401);
  });

  it("ends every /events stream opened with a channel's token once the token is rotated", async () => {
    const ch = await gw.createChannel({ start: false, sandbox: { init_ms: 20, launch_ms: 20 } });
    const byHeader: SseEvent[] = [];
    const byQuery: SseEvent[] = [];
    const streams = [openStream(`${gw.url}/events`, ch.token, byHeader), openStream(`${gw.url}/events?token=${encodeURIComponent(ch.token)}`, null, byQuery)];
    await until(() => streams.every((s) => s.opened()), 'both streams to open');
    await ch.gate('GET', '/health');
    await until(() => [byHeader, byQuery].every((events) => events.some((e) => e.name === 'channel.patch')), 'the QR on both streams');

    const rotated = await gw.partner<{ token: string }>('POST', `/partner/channels/${ch.id}/token`);
    expect(rotated.status).toBe(200);
    await until(() => streams.every((s) => s.ended()), 'both streams to end');
    const seen = [byHeader.length, byQuery.length];
    // What happens after the rotation (a pairing, with message-bearing events) reaches neither.
    const fresh = client(gw.url, rotated.body.token);
    expect((await fresh('POST', '/sandbox/scan', {})).status).toBe(200);
    const after: SseEvent[] = [];
    const current = openStream(`${gw.url}/events`, rotated.body.token, after, byHeader.at(-1)?.id);
    await until(() => after.some((e) => e.name === 'users.post'), 'the pairing on a stream opened with the new token');
    current.abort();
    expect([byHeader.length, byQuery.length]).toEqual(seen);
    expect((await fetch(`${gw.url}/events`, { headers: { authorization: `Bearer ${ch.token}` } })).status).toBe(401);
  });

  it('ends /events when its channel is deleted', async () => {
    const ch = await gw.createChannel({ start: false });
    const events: SseEvent[] = [];
    const stream = openStream(`${gw.url}/events`, ch.token, events);
    await until(() => stream.opened(), 'the stream to open');
    expect((await gw.partner('DELETE', `/partner/channels/${ch.id}`)).status).toBe(200);
    await until(() => stream.ended(), 'the stream to end');
  });
});
