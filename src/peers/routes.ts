/**
 * Which requests need a channel's live engine, so that a node which does not run the channel
 * hands them to the node that does (SPEC §10). Everything else is answered by any node from
 * the database.
 */

/**
 * `send`: a message leaves (held across an ownership move, retried under one key); `action`: any
 * other engine work; `wake`: a read that may start the channel, answered here when its node is not reachable.
 */
export type EngineWork = 'send' | 'action' | 'wake';

/** The fields of a request the decision reads. */
export interface RouteRequest {
  method: string;
  /** The route's pattern, as Fastify declares it (`/partner/channels/:id/restart`). */
  route: string;
  query: Record<string, unknown>;
  /** The channel's status as the database has it. */
  status: string;
}

const PARTNER = '/partner/channels/:id';

/**
 * Writes any node carries out itself, in the database: webhook tests, delivery replays, media
 * uploads. Every other write goes to the channel's node (it changes the engine, or the row
 * the owner keeps in memory: settings, token, stop, delete), new routes included.
 */
const LOCAL_WRITES = new Set([
  'POST /settings/webhook_test',
  'POST /webhooks/deliveries/replay',
  'POST /webhooks/deliveries/:id/replay',
  'POST /media',
  'DELETE /media/:MediaID',
  `POST ${PARTNER}/settings/webhook_test`,
  `POST ${PARTNER}/deliveries/replay`,
  `POST ${PARTNER}/deliveries/:deliveryId/replay`,
]);

/** Reads that only the engine can answer: the QR, the pairing code, the profile, the sandbox's network. */
const ENGINE_READS = new Set([
  'GET /users/login',
  'GET /users/login/rowdata',
  'GET /users/login/image',
  'GET /users/login/:phone',
  'GET /users/profile',
  'GET /sandbox/sent',
  `GET ${PARTNER}/qr`,
  `GET ${PARTNER}/login/:phone`,
]);

/** What a request needs of the channel's owner, or null when any node answers it from the database. */
export function engineWork(req: RouteRequest): EngineWork | null {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const key = `${method} ${req.route}`;
  // Sends, and what goes out through the engine like one: forwards, reads, deletes, reactions, stars, pins.
  if (method !== 'GET' && (req.route.startsWith('/messages/') || req.route === `${PARTNER}/messages/text`)) return 'send';
  if (method !== 'GET') return LOCAL_WRITES.has(key) ? null : 'action';
  if (ENGINE_READS.has(key)) return 'action';
  // /health wakes a never-started or parked channel (wakeup defaults to true): only its owner can.
  if (key === 'GET /health' && !['false', false].includes(req.query.wakeup as string | boolean) && (req.status === 'NOT_INIT' || req.status === 'QR')) return 'wake';
  return null;
}
