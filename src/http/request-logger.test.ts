import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { requestLogger } from './request-logger.js';

/** A server logging at `level` into the answered list of parsed lines. */
async function serverLoggingAt(level: string): Promise<{ lines: Array<Record<string, unknown>>; url: string; close: () => Promise<void> }> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({ logger: { level, stream }, childLoggerFactory: requestLogger });
  app.get('/warns', async (req) => {
    req.log.warn({ what: 'x' }, 'a warning');
    req.log.debug('a detail');
    return {};
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { lines, url, close: () => app.close() };
}

describe('requestLogger', () => {
  it('writes the lines of enabled levels with the request id bound, and nothing of the others', async () => {
    const s = await serverLoggingAt('warn');
    await fetch(`${s.url}/warns`);
    await fetch(`${s.url}/warns`);
    await s.close();
    const warnings = s.lines.filter((l) => l.msg === 'a warning');
    expect(warnings).toHaveLength(2);
    expect(warnings.map((l) => l.what)).toEqual(['x', 'x']);
    expect(new Set(warnings.map((l) => l.reqId)).size).toBe(2);
    expect(s.lines.some((l) => l.msg === 'a detail' || l.msg === 'incoming request')).toBe(false);
  });

  it("keeps Fastify's request lines at debug, each with its request's id", async () => {
    const s = await serverLoggingAt('debug');
    await fetch(`${s.url}/warns`);
    await s.close();
    const ofRequest = s.lines.filter((l) => ['incoming request', 'a warning', 'a detail', 'request completed'].includes(String(l.msg)));
    expect(ofRequest.map((l) => l.msg)).toEqual(['incoming request', 'a warning', 'a detail', 'request completed']);
    expect(new Set(ofRequest.map((l) => l.reqId))).toEqual(new Set([ofRequest[0]!.reqId]));
    expect(ofRequest[0]!.reqId).toBeDefined();
  });
});
