import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../../src/store/types.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { until } from '../support/http.js';

const BACKLOG = 6000;
const BODY = 'x'.repeat(2000);
const STALL_MS = 1000;
/** Non-reading clients: today's code buffers the whole backlog for each (about 12 MB apiece). */
const SILENT_CLIENTS = 12;
/** Generous: a page of events per stream is what it should hold (under 1 MB each). */
const MEMORY_BOUND = 64 * 1024 * 1024;

/** A raw SSE client on its own socket: nothing reads it unless the test says so. */
interface RawStream {
  socket: Socket;
  /** Ids of the complete events received, in order. */
  ids: number[];
  /** Whether the server closed its side (cut off or ended). */
  serverGone: () => boolean;
  /** Reads on, with no limit. */
  readOn: () => void;
}

let gw: TestGateway;
let channel: { id: string; token: string };
/** The server's side of every connection, by the client's port: how a test sees a cut-off. */
const serverSockets = new Map<number, Socket>();
let backlog: number[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_STREAM_STALL_TIMEOUT_MS: String(STALL_MS) } });
  gw.gateway.app.server.on('connection', (s: Socket) => serverSockets.set(s.remotePort ?? 0, s));
  channel = await gw.createChannel({ start: false });
  // The backlog goes in through the store's own commit path, in batches, as a busy channel's would.
  for (let n = 0; n < BACKLOG; n += 500) {
    const events: OutboundEvent[] = Array.from({ length: 500 }, (_, i) => ({
      name: 'messages.post',
      body: { messages: [{ id: `m${n + i}`, type: 'text', text: { body: BODY } }], event: { type: 'messages', event: 'post' }, channel_id: channel.id },
      createdAt: Date.now(),
    }));
    await gw.gateway.store.commitChange({ channelId: channel.id, events });
  }
  backlog = (await gw.gateway.store.listEvents(channel.id, 0, BACKLOG + 1)).map((e) => e.seq);
  expect(backlog).toHaveLength(BACKLOG);
});
afterAll(async () => {
  await gw?.close();
});

/**
 * Opens `/events` on a raw socket that stops reading once it holds `upTo` events (0: reads
 * nothing). Until then it reads one chunk every few milliseconds, as a slow client would: a
 * reader that drains its socket flat out lets the kernel grow its receive window to megabytes,
 * and the backlog would then sit in kernel buffers rather than behind the server's writes.
 */
function openRaw(afterId: number, upTo: number): Promise<RawStream> {
  let readUpTo = upTo;
  const url = new URL(gw.url);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  const ids: number[] = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const id = /^id: (\d+)$/m.exec(buffer.slice(0, end))?.[1];
      if (id) ids.push(Number(id));
      buffer = buffer.slice(end + 2);
    }
    socket.pause();
    if (ids.length < readUpTo) setTimeout(() => ids.length < readUpTo && socket.resume(), readUpTo === Infinity ? 0 : 5);
  });
  socket.on('error', () => undefined);
  if (readUpTo === 0) socket.pause();
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.write(`GET /events?last_event_id=${afterId} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${channel.token}\r\n\r\n`);
      const readOn = (): void => {
        readUpTo = Infinity;
        socket.resume();
      };
      resolve({ socket, ids, serverGone: () => serverSockets.get(socket.localPort ?? -1)?.destroyed ?? false, readOn });
    });
  });
}

// A full collection before each sample, so what is measured is what the server holds, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live heap and buffers outside it: what the streams' queued writes occupy. */
function memory(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

describe('event stream backpressure', () => {
  it(`holds memory bounded with ${SILENT_CLIENTS} clients that never read a ${BACKLOG}-event backlog, and cuts them off`, async () => {
    const before = memory();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, memory())), 200);
    try {
      const silent = await Promise.all(Array.from({ length: SILENT_CLIENTS }, () => openRaw(0, 0)));
      // Either every silent client is cut off, or memory has already blown the bound.
      await until(() => silent.every((s) => s.serverGone()) || peak - before > MEMORY_BOUND, 'the silent clients to be cut off', 40_000);
      peak = Math.max(peak, memory());
      expect(peak - before, `grew by ${Math.round((peak - before) / 1048576)} MB`).toBeLessThan(MEMORY_BOUND);
      expect(silent.every((s) => s.serverGone())).toBe(true);
      for (const s of silent) s.socket.destroy();
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);

  it('lets a reader that falls behind resume from Last-Event-ID and get every event once', async () => {
    const received: number[] = [];
    // Twice it reads a stretch and stops while megabytes still wait (more than kernel buffers
    // hold, so the server's writes block): each time it is cut off and resumes after what it has.
    for (const stretch of [1000, 1000]) {
      const stream = await openRaw(received.at(-1) ?? 0, stretch);
      await until(() => stream.ids.length >= stretch, 'a stretch of events', 20_000);
      await until(() => stream.serverGone(), 'the stalled reader to be cut off', 20_000);
      // What reached this side before the cut still counts.
      stream.readOn();
      await until(() => stream.socket.destroyed, 'the socket to close', 5000);
      expect(stream.ids.length).toBeLessThan(BACKLOG - received.length);
      received.push(...stream.ids);
    }
    const last = await openRaw(received.at(-1) ?? 0, Infinity);
    await until(() => received.length + last.ids.length >= BACKLOG, 'the rest of the backlog', 20_000);
    received.push(...last.ids);
    last.socket.destroy();
    expect(received).toEqual(backlog);
  }, 60_000);
});
