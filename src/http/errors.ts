import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ERROR_MESSAGES, STORE_RETRY_AFTER_SECONDS, errors, WHAPI_ROUTES } from '@wagate/protocol';
import { isStoreFault, LeaseLostError } from '../store/errors.js';
import { describeValidation } from './validation.js';

/** The routes an app has, as method and path pattern (for 405 and the not-implemented twins). */
const routePatterns = new WeakMap<FastifyInstance, Array<{ method: string; regex: RegExp }>>();

/** Maps every failure to Whapi's error shape; the one place that decides an error's status. */
export function registerErrorHandling(app: FastifyInstance): void {
  const patterns: Array<{ method: string; regex: RegExp }> = [];
  routePatterns.set(app, patterns);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const regex = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}$`);
    for (const method of methods) patterns.push({ method: method.toUpperCase(), regex });
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (isWhapiRoute(req.method, path)) return send(reply, notImplemented(req.method, path));
    const allowed = [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))];
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      return send(reply, new ApiError(405, ERROR_MESSAGES.methodNotAllowed, `${req.method} ${path}: allowed ${allowed.join(', ')}`));
    }
    return send(reply, new ApiError(404, ERROR_MESSAGES.notFound, `no route for ${req.method} ${path}`));
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => send(reply, toApiError(err, req)));
}

function notImplemented(method: string, path: string): ApiError {
  return new ApiError(404, ERROR_MESSAGES.notFound, `${method} ${path} is a Whapi.Cloud route not implemented by wagate`);
}

/**
 * Whapi's fixed routes that wagate lacks but a parametric route of ours would take (`POST
 * /messages/poll` would be a forward of message "poll"): each gets a hidden route answering the
 * not-implemented 404, as the not-found handler answers the others. Registered after every route.
 */
export async function notImplementedTwins(app: FastifyInstance): Promise<void> {
  const patterns = routePatterns.get(app) ?? [];
  for (const [path, methods] of Object.entries(WHAPI_ROUTES)) {
    if (path.includes('{')) continue;
    for (const method of methods) {
      if (app.hasRoute({ method: method as 'GET', url: path }) || !patterns.some((p) => p.method === method && p.regex.test(path))) continue;
      app.route({ method, url: path, schema: { hide: true }, handler: async () => Promise.reject(notImplemented(method, path)) });
    }
  }
}

const WHAPI_PATTERNS = Object.entries(WHAPI_ROUTES).map(([path, methods]) => ({
  regex: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
  methods,
}));

/** Whether a request names a route of Whapi's API (which wagate, having no route for it, does not implement). */
function isWhapiRoute(method: string, path: string): boolean {
  return WHAPI_PATTERNS.some((p) => p.methods.includes(method) && p.regex.test(path));
}

function toApiError(err: FastifyError | ApiError, req: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) return new ApiError(400, ERROR_MESSAGES.badRequest, describeValidation(err.validationContext ?? 'request', err.validation as never));
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, ERROR_MESSAGES.payloadTooLarge, err.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported media type', `send JSON with content-type: application/json (got ${req.headers['content-type'] ?? 'none'})`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, ERROR_MESSAGES.badRequest, 'the body is empty but content-type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, ERROR_MESSAGES.badRequest, `malformed JSON: ${err.message}`);
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return new ApiError(400, ERROR_MESSAGES.badRequest, `malformed request: ${err.message}`);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new ApiError(err.statusCode, err.message, err.code);
  // Several nodes: the channel changed owners while this node was acting on it; the new owner answers.
  if (err instanceof LeaseLostError) {
    return new ApiError(503, 'channel is moving', 'another gateway node took the channel over while this request ran; nothing was changed; retry after the Retry-After delay');
  }
  // After the client's own faults: a body the client aborted carries ECONNRESET too, and is no store fault.
  if (isStoreFault(err)) {
    req.log.warn({ err }, 'store unavailable');
    return errors.storeUnavailable('the gateway cannot read or write its database right now; nothing was changed unless the answer says so; retry after the Retry-After delay');
  }
  req.log.error({ err }, 'unhandled error');
  return new ApiError(500, ERROR_MESSAGES.internal, 'the gateway failed to answer; the error is logged');
}

function send(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  else if (err.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
  return reply.status(err.status).type('application/json').send(err.toBody());
}
