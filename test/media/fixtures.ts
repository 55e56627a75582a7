import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** A tiny valid PNG header followed by random bytes: the content matters only byte for byte. */
export function fakeImage(size: number): Buffer {
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(Math.max(0, size - 8))]);
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A loopback file server: `/file` serves `bytes`; `/redirect?to=` answers 302; every request is counted. */
export async function fileServer(bytes: Buffer, mimeType = 'image/png'): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') return void res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
    if (url.pathname.startsWith('/file')) return void res.writeHead(200, { 'content-type': mimeType, 'content-length': bytes.length }).end(bytes);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}
