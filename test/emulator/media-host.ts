import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

/**
 * The emulator's TLS key and certificate (self-signed, for IP 127.0.0.1, valid until 2126), in one
 * PEM file. A test gateway trusts it through `WAGATE_BAILEYS_MEDIA_CA`; it is good for loopback only.
 */
export const MEDIA_HOST_PEM = resolve(import.meta.dirname, 'media-host.pem');

/** A file the media host holds: uploaded by the client, or put there by an emulated phone. */
export interface HostedFile {
  /** `image`, `document`... from the upload path (`/mms/<kind>/...`); the phone's kind for its own. */
  kind: string;
  directPath: string;
  bytes: Buffer;
}

/** How WhatsApp names an upload: the file's encrypted SHA-256, base64url without padding. */
export function uploadToken(enc: Uint8Array): string {
  return createHash('sha256').update(enc).digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * WhatsApp's media host (mmg.whatsapp.net) on loopback over HTTPS: it takes encrypted uploads at
 * `POST /mms/<kind>/<token>?auth=…&token=…` (the auth from the `media_conn` answer, the token the
 * file's encrypted hash) and answers `url` and `direct_path`; it serves files at their direct path.
 */
export class MediaHost {
  /** The upload auth the `media_conn` answer hands out. */
  readonly auth = randomBytes(18).toString('base64');
  readonly files = new Map<string, HostedFile>();
  /** Uploads, in arrival order. */
  readonly uploads: HostedFile[] = [];
  /** Paths served by GET, in order (downloads by the gateway). */
  readonly downloads: string[] = [];
  /** Requests refused, with the reason (a test asserts there are none). */
  readonly refusals: string[] = [];
  private next = 1;

  private constructor(private readonly server: Server) {
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'https://host');
      const refuse = (status: number, reason: string) => {
        this.refusals.push(`${req.method} ${url.pathname}: ${reason}`);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: reason }));
      };
      if (req.method === 'GET') {
        const file = this.files.get(url.pathname);
        if (!file) return refuse(404, 'no such file');
        this.downloads.push(url.pathname);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length }).end(file.bytes);
        return;
      }
      const upload = /^\/mms\/([\w-]+)\/([\w-]+)$/.exec(url.pathname);
      if (req.method !== 'POST' || !upload) return refuse(404, 'not an upload path');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bytes = Buffer.concat(chunks);
        if (url.searchParams.get('auth') !== this.auth) return refuse(401, 'bad auth');
        const token = uploadToken(bytes);
        if (upload[2] !== token || url.searchParams.get('token') !== token) return refuse(400, 'the token is not the hash of the body');
        const file = this.put(upload[1]!, bytes);
        this.uploads.push(file);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: this.urlOf(file.directPath), direct_path: file.directPath }));
      });
    });
  }

  /** Starts a media host on 127.0.0.1 with an ephemeral port. */
  static async start(): Promise<MediaHost> {
    const pem = readFileSync(MEDIA_HOST_PEM);
    const server = createServer({ key: pem, cert: pem });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return new MediaHost(server);
  }

  /** `127.0.0.1:<port>`: the hostname the `media_conn` answer names. */
  get hostname(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The full URL of a hosted file. */
  urlOf(directPath: string): string {
    return `https://${this.hostname}${directPath}`;
  }

  /** Holds an (encrypted) file under a new direct path. */
  put(kind: string, bytes: Buffer): HostedFile {
    const directPath = `/v/t62.7118-24/${this.next++}_${randomBytes(8).toString('hex')}.enc`;
    const file = { kind, directPath, bytes };
    this.files.set(directPath, file);
    return file;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
