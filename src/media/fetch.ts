import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { AddressRefused, guardedConnector, type OutboundGuard } from '../webhooks/guard.js';

export interface MediaFetchOptions {
  /** The gateway's one SSRF guard, as webhooks use it. */
  guard: OutboundGuard;
  maxBytes: number;
  timeoutMs: number;
  /** PEM certificates trusted besides the system's roots (an emulated WhatsApp media host in tests). */
  ca?: string;
}

/** A media URL that could not be fetched; its message is fit to show the customer. */
export class MediaFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaFetchError';
  }
}

const MAX_REDIRECTS = 5;

/**
 * Fetches customer-given media URLs through the webhooks' SSRF guard: every connection's
 * addresses are checked at connect time (literal IPs and resolved names alike, so no DNS
 * rebinding), and each redirect hop is a new connection to a new URL, checked the same way. The body is read up to `maxBytes` and the whole fetch, every
 * hop included, must finish within `timeoutMs`.
 */
export class MediaFetcher {
  private readonly agent: Agent;

  constructor(private readonly opts: MediaFetchOptions) {
    this.agent = new Agent({
      connect: guardedConnector(opts.guard, { timeout: Math.min(opts.timeoutMs, 10_000), ...(opts.ca && { ca: [...rootCertificates, opts.ca] }) }),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  /** The bytes and content type at `url`; throws MediaFetchError. */
  async fetch(url: string): Promise<{ bytes: Buffer; mimeType: string | null; fileName: string | null }> {
    // A timer cleared in `finally`: a signal left armed would abort a finished request later.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.opts.timeoutMs);
    const signal = controller.signal;
    let target = parseUrl(url);
    try {
      for (let hop = 0; ; hop++) {
        const res = await request(target, { dispatcher: this.agent, method: 'GET', signal, headers: { 'user-agent': 'wagate-media' } });
        if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
          await res.body.dump();
          if (hop >= MAX_REDIRECTS) throw new MediaFetchError(`media url refused: more than ${MAX_REDIRECTS} redirects`);
          target = parseUrl(new URL(String(res.headers.location), target).toString());
          continue;
        }
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw new MediaFetchError(`media url answered HTTP ${res.statusCode}`);
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.opts.maxBytes) {
          await res.body.dump({ limit: 0 }).catch(() => undefined);
          throw tooLarge(this.opts.maxBytes);
        }
        const bytes = await readCapped(res.body, this.opts.maxBytes);
        const type = res.headers['content-type'];
        const mimeType = typeof type === 'string' ? type.split(';')[0]!.trim() || null : null;
        const fileName = decodeURIComponent(target.pathname.split('/').pop() ?? '') || null;
        return { bytes, mimeType, fileName };
      }
    } catch (err) {
      if (err instanceof MediaFetchError) throw err;
      // The guard's refusal arrives as is (a literal IP) or as the cause of a failed connect.
      const refused = [err, (err as { cause?: unknown }).cause].find((e) => e instanceof AddressRefused || (e as { code?: string })?.code === 'ERR_ADDRESS_REFUSED');
      if (refused) throw new MediaFetchError(`media ${(refused as Error).message}`);
      if (signal.aborted) throw new MediaFetchError(`media url timed out after ${this.opts.timeoutMs} ms`);
      throw new MediaFetchError(`media url could not be fetched: ${describe(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MediaFetchError('media url is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new MediaFetchError(`media url refused: scheme ${parsed.protocol} is not http or https`);
  return parsed;
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): MediaFetchError {
  return new MediaFetchError(`media url body is larger than WAGATE_MEDIA_MAX_BYTES (${maxBytes} bytes)`);
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause ?? e;
  return cause.code ?? cause.message ?? String(err);
}
