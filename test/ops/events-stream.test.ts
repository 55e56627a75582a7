import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';

interface SseEvent { id: number; name: string; data: Record<string, unknown> }

/** Reads a Server-Sent Events stream into `events` until `abort`; `opened` turns true on its first bytes. */
function openStream(url: string, token: string, events: SseEvent[], lastEventId?: number): AbortController & { opened: () => boolean } {
  let opened = false;
  const abort = Object.assign(new AbortController(), { opened: () => opened });
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
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
});
