import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleNodeRequest, writeAnswer } from './node.js';
import { receiveWebhook, type ReceiverOptions } from './receive.js';

/** The parts of an Express request the adapter reads: Node's request, maybe with a parsed body. */
export type ExpressLikeRequest = IncomingMessage & { body?: unknown; rawBody?: unknown };
export type ExpressLikeNext = (err?: unknown) => void;

/**
 * Express-style middleware `(req, res, next)` for a webhook route. It takes the raw body from
 * `express.raw({ type: '*\/*' })` (a Buffer in `req.body`), from `req.rawBody`, or reads the
 * stream itself when no body parser ran. A body already parsed by `express.json()` cannot be
 * verified: with a secret that is a setup mistake, passed to `next(err)`.
 */
export function expressWebhook(options: ReceiverOptions): (req: ExpressLikeRequest, res: ServerResponse, next: ExpressLikeNext) => void {
  return (req, res, next) => {
    const raw = rawBodyOf(req);
    if (raw === undefined && req.body === undefined) {
      void handleNodeRequest(options, req, res).catch(next);
      return;
    }
    if (raw === undefined && options.secret !== undefined) {
      next(new Error('expressWebhook: the body was parsed before it could be verified; mount express.raw({ type: "*/*" }) on this route instead of express.json()'));
      return;
    }
    const body = raw ?? (req.body as object);
    receiveWebhook(options, req.headers, body).then((out) => writeAnswer(res, out), next);
  };
}

function rawBodyOf(req: ExpressLikeRequest): string | Uint8Array | undefined {
  for (const candidate of [req.rawBody, req.body]) {
    if (typeof candidate === 'string' || candidate instanceof Uint8Array) return candidate;
  }
  return undefined;
}
