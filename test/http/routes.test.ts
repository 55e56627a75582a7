import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { GATE_ROUTES, PARTNER_ROUTES } from './routes.js';

/** Streams stay open while they are valid: they have tests of their own (test/ops/events-stream.test.ts). */
const STREAMS = ['GET /partner/events', 'GET /events'];

const shape = (method: string, path: string): string => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`;

describe('the route table of the HTTP tests', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('lists every partner route the gateway serves, so the bad-input and fuzz suites reach each one', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/partner'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => shape(method, path)));
    expect(served.length).toBeGreaterThan(40);
    const listed = new Set(PARTNER_ROUTES.map((r) => shape(r.method, r.path)));
    expect(served.filter((r) => !listed.has(r) && !STREAMS.includes(r)).sort()).toEqual([]);
    // And nothing listed that the gateway does not serve.
    expect([...listed].filter((r) => !served.includes(r)).sort()).toEqual([]);
  });

  it('lists every gate route the gateway serves, so the bad-input and fuzz suites reach each one', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths)
      .filter(([path]) => !path.startsWith('/partner') && !['/livez', '/readyz', '/metrics'].includes(path))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => shape(method, path)));
    const listed = new Set(GATE_ROUTES.map((r) => shape(r.method, r.path)));
    expect(served.filter((r) => !listed.has(r) && !STREAMS.includes(r)).sort()).toEqual([]);
    expect([...listed].filter((r) => !served.includes(r)).sort()).toEqual([]);
  });
});
