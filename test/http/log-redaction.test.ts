import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, until } from '../support/http.js';
import { startGatewayProcess, tempDataDir, type GatewayProcess } from '../support/process.js';

const ADMIN = 'log-redaction-admin-token-0123456789';

let gw: GatewayProcess;
beforeAll(async () => {
  // A real server process at debug level, which logs one line per request with its URL.
  gw = await startGatewayProcess({ WAGATE_DATA_DIR: tempDataDir(), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await gw?.kill('SIGTERM');
});

/** The pino lines the process printed, parsed. */
function logLines(): Array<Record<string, unknown>> {
  return gw
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('tokens in request URLs', () => {
  it('never reach the log, however the parameter name is encoded', async () => {
    const created = await client(gw.url, ADMIN)<{ id: string; token: string }>('PUT', '/partner/channels', { name: 'logged', engine: 'sandbox', start: false });
    const { token } = created.body;
    const ticket = (await client(gw.url, ADMIN)<{ ticket: string }>('POST', '/partner/events/ticket')).body.ticket;
    const spellings = ['token', '%74oken', '%74%6F%6B%65%6E', 'TOKEN', 'to%6Ben', '%54oken'];
    for (const name of spellings) {
      const res = await fetch(`${gw.url}/health?wakeup=false&${name}=${encodeURIComponent(token)}`);
      await res.arrayBuffer();
      // The encodings the query parser decodes to `token` authenticate; every spelling is redacted.
      if (name === 'token' || name.startsWith('%74') || name === 'to%6Ben') expect(res.status, name).toBe(200);
    }
    const stream = new AbortController();
    const opened = await fetch(`${gw.url}/partner/events?%74icket=${ticket}`, { signal: stream.signal });
    expect(opened.status).toBe(200);
    stream.abort();
    const marker = `/livez?after=${Date.now()}`;
    await (await fetch(`${gw.url}${marker}`)).arrayBuffer();
    await until(() => gw.output().includes(marker), 'the marker request in the log');

    const output = gw.output();
    expect(output).not.toContain(token);
    expect(output).not.toContain(encodeURIComponent(token));
    expect(output).not.toContain(ticket);
    expect(output).not.toContain(ADMIN);
    const urls = logLines()
      .map((line) => (line.req as { url?: string } | undefined)?.url)
      .filter((url): url is string => typeof url === 'string' && url.startsWith('/health?'));
    expect(urls).toHaveLength(spellings.length);
    for (const [i, name] of spellings.entries()) expect(urls[i]).toBe(`/health?wakeup=false&${name}=[redacted]`);
  });
});
