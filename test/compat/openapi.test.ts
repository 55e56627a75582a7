import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { WHAPI_ROUTES } from '@wagate/protocol';
import { whapiDoc } from '../support/whapi.js';

interface Parameter { name: string; in: string; required?: boolean; $ref?: string }
interface Operation { parameters?: Parameter[] }
type Paths = Record<string, Record<string, Operation>>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** `/users/login/{PhoneNumber}` and `/users/login/{phone}` name the same path. */
const shape = (path: string): string => path.replace(/\{[^}]+\}/g, '{}');

let gw: TestGateway;
let ours: Paths;

beforeAll(async () => {
  gw = await startTestGateway();
  ours = ((await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Paths }).paths;
});
afterAll(async () => {
  await gw?.close();
});

/** The required fields of a form-exploded object parameter (`SendParams` → `to`): each is a query parameter. */
function explodedRequired(p: Parameter): string[] {
  const ref = (p as Parameter & { explode?: boolean; schema?: { $ref?: string } }).schema?.$ref;
  if (!(p as { explode?: boolean }).explode || !ref) return [];
  return ((whapiDoc().components.schemas[ref.split('/').pop() as string] as { required?: string[] }).required ?? []);
}

/** Whapi's operation parameters with `$ref`s resolved. */
function whapiParameters(op: Operation): Parameter[] {
  const components = whapiDoc().components.parameters;
  return (op.parameters ?? []).map((p) => (p.$ref ? (components[p.$ref.split('/').pop() as string] as Parameter) : p));
}

describe("wagate's OpenAPI document beside Whapi's", () => {
  it("lists in WHAPI_ROUTES exactly the routes of Whapi's document (the 404 'not implemented' list)", () => {
    const whapi = Object.fromEntries(
      Object.entries(whapiDoc().paths as unknown as Paths).map(([p, ops]) => [p, METHODS.filter((m) => ops[m]).map((m) => m.toUpperCase())]),
    );
    expect(WHAPI_ROUTES).toEqual(whapi);
  });

  it('is served at /docs/json with every gate, partner and operations route', () => {
    for (const path of ['/health', '/users/login', '/settings', '/messages/text', '/chats', '/partner/channels', '/livez', '/webhooks/deliveries']) {
      expect(Object.keys(ours)).toContain(path);
    }
  });

  it('has, for every Whapi path it implements, the same path, method and required parameters', () => {
    const whapi = whapiDoc().paths as unknown as Paths;
    const whapiByShape = new Map(Object.entries(whapi).map(([p, ops]) => [shape(p), { path: p, ops }]));
    const compared: string[] = [];
    for (const [path, ops] of Object.entries(ours)) {
      const theirs = whapiByShape.get(shape(path));
      if (!theirs) continue; // an extension (partner API, sandbox, deliveries, events, probes)
      for (const method of METHODS.filter((m) => ops[m])) {
        const op = theirs.ops[method];
        expect(op, `${method.toUpperCase()} ${path} is not in Whapi's document`).toBeDefined();
        const required = whapiParameters(op as Operation).filter((p) => p.required && p.in !== 'header');
        const ourParams = (ops[method]?.parameters ?? []) as Parameter[];
        for (const p of required) {
          // A form-exploded object (`SendParams`) is no parameter of its own: its fields are the query.
          if (p.in === 'query' && (p as Parameter & { explode?: boolean }).explode) continue;
          if (p.in === 'path') {
            expect(ourParams.filter((q) => q.in === 'path').length, `${method} ${path}: path parameter ${p.name}`).toBeGreaterThan(0);
          } else {
            expect(ourParams.some((q) => q.in === p.in && q.name === p.name), `${method} ${path}: required ${p.in} parameter ${p.name}`).toBe(true);
          }
        }
        // wagate's required query parameters must not be more than Whapi's (a Whapi client would omit them).
        const ourRequired = ourParams.filter((q) => q.required && q.in === 'query').map((q) => q.name);
        const theirQuery = whapiParameters(op as Operation)
          .filter((p) => p.in === 'query' && p.required)
          .flatMap((p) => [p.name, ...explodedRequired(p)]);
        expect(ourRequired.filter((n) => !theirQuery.includes(n)), `${method} ${path}: extra required query parameters`).toEqual([]);
        compared.push(`${method.toUpperCase()} ${theirs.path}`);
      }
    }
    // Every Whapi route SPEC.md names is among those compared.
    for (const expected of [
      'GET /health', 'GET /users/login', 'GET /users/login/image', 'GET /users/login/rowdata', 'GET /users/login/{PhoneNumber}',
      'POST /users/logout', 'GET /users/profile', 'GET /settings', 'PATCH /settings', 'DELETE /settings', 'GET /settings/events',
      'POST /settings/webhook_test', 'POST /messages/text', 'GET /messages/list', 'GET /messages/list/{ChatID}',
      'GET /messages/{MessageID}', 'GET /chats', 'GET /chats/{ChatID}',
    ]) {
      expect(compared).toContain(expected);
    }
  });
});
