import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '@wagate/protocol';

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// Everything the page needs is served from here: no inline script, no CDN, no frames.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Reads every file under `static/` once, keyed by its URL path: nothing outside that folder can be named. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      const type = TYPES[extname(entry.name)];
      if (!entry.isFile() || !type) continue;
      const body = readFileSync(path);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
      assets.set(relative(dir, path).split(sep).join('/'), { body, type, etag });
    }
  };
  walk(dir);
  return assets;
}

/** The operator dashboard: `GET /` and its files under `/dashboard/`. It calls the partner API with the admin token. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets(STATIC_DIR);
  const send = (req: FastifyRequest, reply: FastifyReply, name: string): FastifyReply => {
    const asset = assets.get(name);
    if (!asset) throw errors.notFound(`the dashboard has no file ${name.slice(0, 100)}`);
    void reply.headers({ ...SECURITY_HEADERS, etag: asset.etag });
    if (req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  };

  app.get('/', { schema: { hide: true } }, (req, reply) => send(req, reply, 'index.html'));
  app.get('/dashboard/*', { schema: { hide: true } }, (req, reply) => send(req, reply, (req.params as { '*': string })['*']));
}
