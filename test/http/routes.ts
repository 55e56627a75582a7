/**
 * The gateway's route table as the HTTP tests see it, read from src/http/{gate,partner,ops}.
 * `{id}` stands for a channel id, `{phone}` for a phone number, `{delivery}` for a delivery id,
 * `{proxy}` for a pool proxy's id.
 */
export type Guard = 'channel' | 'admin' | 'none';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  guard: Guard;
  /** Its body schema forbids fields it does not name. */
  closedBody?: boolean;
  /** A body with a wrong type, and the field the answer's details must name. */
  wrongType?: { body?: unknown; query?: string; field: string };
  /** Takes a media file: its body limit is WAGATE_MEDIA_MAX_BYTES, not WAGATE_BODY_LIMIT_BYTES. */
  mediaBody?: boolean;
  /** The gate route this partner route mirrors by channel id (same body, same refusals). */
  twinOf?: string;
}

export const GATE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/health', guard: 'channel', wrongType: { query: 'wakeup=maybe', field: 'querystring.wakeup' } },
  { method: 'GET', path: '/health/history', guard: 'channel', wrongType: { query: 'count=many', field: 'querystring.count' } },
  { method: 'GET', path: '/users/login', guard: 'channel', wrongType: { query: 'wakeup=2', field: 'querystring.wakeup' } },
  { method: 'GET', path: '/users/login/rowdata', guard: 'channel', wrongType: { query: 'wakeup=[]', field: 'querystring.wakeup' } },
  { method: 'GET', path: '/users/login/image', guard: 'channel', wrongType: { query: 'wakeup=yes!', field: 'querystring.wakeup' } },
  { method: 'GET', path: '/users/login/{phone}', guard: 'channel', wrongType: { query: 'wakeup=nope', field: 'querystring.wakeup' } },
  { method: 'POST', path: '/users/logout', guard: 'channel' },
  { method: 'GET', path: '/users/profile', guard: 'channel' },
  { method: 'POST', path: '/sandbox/scan', guard: 'channel', closedBody: true, wrongType: { body: { user: { id: 61371989950 } }, field: 'body.user.id' } },
  { method: 'POST', path: '/sandbox/blip', guard: 'channel', closedBody: true, wrongType: { body: { duration_ms: '2500' }, field: 'body.duration_ms' } },
  { method: 'POST', path: '/sandbox/flap', guard: 'channel', closedBody: true, wrongType: { body: { times: 'three', interval_ms: 1000 }, field: 'body.times' } },
  { method: 'POST', path: '/sandbox/unlink', guard: 'channel' },
  { method: 'POST', path: '/sandbox/silence', guard: 'channel' },
  { method: 'POST', path: '/sandbox/ack_delay', guard: 'channel', closedBody: true, wrongType: { body: { delay_ms: 'soon' }, field: 'body.delay_ms' } },
  { method: 'POST', path: '/sandbox/sync_error', guard: 'channel' },
  { method: 'POST', path: '/sandbox/stuck', guard: 'channel', closedBody: true, wrongType: { body: { phase: 1 }, field: 'body.phase' } },
  { method: 'POST', path: '/sandbox/fail', guard: 'channel', closedBody: true, wrongType: { body: { reason: ['replaced'] }, field: 'body.reason' } },
  { method: 'GET', path: '/settings', guard: 'channel' },
  {
    method: 'PATCH',
    path: '/settings',
    guard: 'channel',
    closedBody: true,
    wrongType: { body: { callback_backoff_delay_ms: '3000' }, field: 'body.callback_backoff_delay_ms' },
  },
  { method: 'DELETE', path: '/settings', guard: 'channel' },
  { method: 'GET', path: '/settings/events', guard: 'channel' },
  {
    method: 'POST',
    path: '/settings/webhook_test',
    guard: 'channel',
    closedBody: true,
    wrongType: { body: { url: 5, type: 'messages', mode: 'body' }, field: 'body.url' },
  },
  { method: 'GET', path: '/webhooks/deliveries', guard: 'channel', wrongType: { query: 'status=sent', field: 'querystring.status' } },
  { method: 'POST', path: '/webhooks/deliveries/{delivery}/replay', guard: 'channel' },
  {
    method: 'POST',
    path: '/webhooks/deliveries/replay',
    guard: 'channel',
    closedBody: true,
    wrongType: { body: { since: 'yesterday', until: 1 }, field: 'body.since' },
  },
  ...['text', 'location', 'contact', 'contact_list'].map((k): Route => ({ method: 'POST', path: `/messages/${k}`, guard: 'channel' })),
  ...['image', 'video', 'gif', 'short', 'audio', 'voice', 'document', 'sticker', 'link_preview'].map((k): Route => ({ method: 'POST', path: `/messages/${k}`, guard: 'channel', mediaBody: true })),
  { method: 'POST', path: '/messages/media/{kind}', guard: 'channel', mediaBody: true },
  { method: 'POST', path: '/media', guard: 'channel', mediaBody: true },
  { method: 'GET', path: '/messages/list', guard: 'channel' },
  { method: 'GET', path: '/messages/list/{chat}', guard: 'channel' },
  { method: 'GET', path: '/messages/{message}', guard: 'channel' },
  { method: 'POST', path: '/messages/{message}', guard: 'channel' },
  { method: 'PUT', path: '/messages/{message}', guard: 'channel' },
  { method: 'DELETE', path: '/messages/{message}', guard: 'channel' },
  { method: 'PUT', path: '/messages/{message}/reaction', guard: 'channel' },
  { method: 'DELETE', path: '/messages/{message}/reaction', guard: 'channel' },
  { method: 'PUT', path: '/messages/{message}/star', guard: 'channel' },
  { method: 'POST', path: '/messages/{message}/pin', guard: 'channel' },
  { method: 'DELETE', path: '/messages/{message}/pin', guard: 'channel' },
  { method: 'GET', path: '/chats', guard: 'channel' },
  { method: 'GET', path: '/chats/{chat}', guard: 'channel' },
  { method: 'GET', path: '/media', guard: 'channel' },
  { method: 'GET', path: '/media/{media}', guard: 'channel' },
  { method: 'DELETE', path: '/media/{media}', guard: 'channel' },
  { method: 'POST', path: '/sandbox/inbound', guard: 'channel' },
  { method: 'POST', path: '/sandbox/receipt', guard: 'channel' },
  { method: 'POST', path: '/sandbox/receipts', guard: 'channel' },
  { method: 'POST', path: '/sandbox/refuse', guard: 'channel' },
  { method: 'GET', path: '/sandbox/sent', guard: 'channel' },
];

export const PARTNER_ROUTES: readonly Route[] = [
  { method: 'PUT', path: '/partner/channels', guard: 'admin', closedBody: true, wrongType: { body: { name: 42 }, field: 'body.name' } },
  { method: 'GET', path: '/partner/channels/list', guard: 'admin', wrongType: { query: 'offset=first', field: 'querystring.offset' } },
  { method: 'GET', path: '/partner/channels/{id}', guard: 'admin' },
  { method: 'DELETE', path: '/partner/channels/{id}', guard: 'admin' },
  { method: 'POST', path: '/partner/channels/{id}/restart', guard: 'admin' },
  { method: 'POST', path: '/partner/channels/{id}/stop', guard: 'admin' },
  { method: 'POST', path: '/partner/channels/{id}/start', guard: 'admin' },
  { method: 'POST', path: '/partner/channels/{id}/token', guard: 'admin' },
  // wagate extension (SPEC §10): the nodes on this database.
  { method: 'GET', path: '/partner/nodes', guard: 'admin' },
  { method: 'GET', path: '/partner/channels/{id}/history', guard: 'admin', wrongType: { query: 'since=yesterday', field: 'querystring.since' } },
  { method: 'GET', path: '/partner/channels/{id}/timeline', guard: 'admin' },
  { method: 'GET', path: '/partner/channels/{id}/qr', guard: 'admin', wrongType: { query: 'wakeup=maybe', field: 'querystring.wakeup' } },
  { method: 'GET', path: '/partner/channels/{id}/login/{phone}', guard: 'admin', wrongType: { query: 'wakeup=nope', field: 'querystring.wakeup' } },
  ...twins(['POST /users/logout', '/partner/channels/{id}/logout']),
  { method: 'POST', path: '/partner/channels/{id}/messages/text', guard: 'admin', closedBody: true, wrongType: { body: { to: 61371989950, body: 'hi' }, field: 'body.to' } },
  { method: 'GET', path: '/partner/channels/{id}/messages/list', guard: 'admin', wrongType: { query: 'count=many', field: 'querystring.count' } },
  ...twins(
    ...['scan', 'blip', 'flap', 'unlink', 'silence', 'ack_delay', 'sync_error', 'stuck', 'fail'].map((c): [string, string] => [`POST /sandbox/${c}`, `/partner/channels/{id}/sandbox/${c}`]),
    ['GET /settings', '/partner/channels/{id}/settings'],
    ['PATCH /settings', '/partner/channels/{id}/settings'],
    ['GET /settings/events', '/partner/channels/{id}/settings/events'],
    ['POST /settings/webhook_test', '/partner/channels/{id}/settings/webhook_test'],
    ['GET /webhooks/deliveries', '/partner/channels/{id}/deliveries'],
    ['POST /webhooks/deliveries/{delivery}/replay', '/partner/channels/{id}/deliveries/{delivery}/replay'],
    ['POST /webhooks/deliveries/replay', '/partner/channels/{id}/deliveries/replay'],
  ),
  { method: 'POST', path: '/partner/channels/{id}/sandbox/inbound', guard: 'admin', closedBody: true, wrongType: { body: { from: 4915112345678, body: 'hi' }, field: 'body.from' } },
  { method: 'GET', path: '/partner/channels/{id}/deliveries/{delivery}', guard: 'admin' },
  // The single-use ticket of the partner stream. The streams themselves (GET /events,
  // GET /partner/events) stay open while they are valid, so they have tests of their own.
  { method: 'POST', path: '/partner/events/ticket', guard: 'admin' },
  // The proxy pool; `{proxy}` is a proxy id.
  { method: 'GET', path: '/partner/proxies', guard: 'admin' },
  { method: 'PUT', path: '/partner/proxies', guard: 'admin', closedBody: true, wrongType: { body: { url: 5, label: 'x' }, field: 'body.url' } },
  { method: 'DELETE', path: '/partner/proxies/{proxy}', guard: 'admin' },
  { method: 'POST', path: '/partner/proxies/{proxy}/quarantine', guard: 'admin', closedBody: true, wrongType: { body: { reason: 5 }, field: 'body.reason' } },
  { method: 'POST', path: '/partner/proxies/{proxy}/release', guard: 'admin' },
];

/** Partner routes that mirror a gate route by channel id: the gate route's refusals, the admin guard. */
function twins(...pairs: Array<[gate: string, partnerPath: string]>): Route[] {
  return pairs.map(([gate, path]) => {
    const [method, gatePath] = gate.split(' ') as [Route['method'], string];
    const of = GATE_ROUTES.find((r) => r.method === method && r.path === gatePath);
    if (!of) throw new Error(`no gate route ${gate}`);
    return { ...of, path, guard: 'admin', twinOf: gatePath };
  });
}

export const PROBE_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/livez', guard: 'none' },
  { method: 'GET', path: '/readyz', guard: 'none' },
];

export const ALL_ROUTES: readonly Route[] = [...GATE_ROUTES, ...PARTNER_ROUTES, ...PROBE_ROUTES];

/** The methods a concrete path answers, as its Allow header must list them (HEAD comes with GET). */
export function allowedMethods(concretePath: string): string[] {
  const methods = new Set<string>();
  for (const r of ALL_ROUTES) {
    const pattern = new RegExp(`^${r.path.replace(/\{[a-z]+\}/g, '[^/]+')}$`);
    if (!pattern.test(concretePath)) continue;
    methods.add(r.method);
    if (r.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}

/** Fills `{id}`, `{phone}`, `{delivery}` and `{proxy}` in a route path. */
export function concrete(path: string, fill: { id?: string; phone?: string; delivery?: string; proxy?: string } = {}): string {
  return path
    .replace('{id}', fill.id ?? 'NOSUCH-CHANL')
    .replace('{phone}', fill.phone ?? '61371989950')
    .replace('{delivery}', fill.delivery ?? '424242')
    .replace('{proxy}', fill.proxy ?? 'px_0000000000')
    .replace('{message}', '3EB0C0FFEE00000000000000')
    .replace('{chat}', '61371989950@s.whatsapp.net')
    .replace('{media}', 'jpeg-0000000000000000')
    .replace('{kind}', 'image');
}
