import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MAX_BODY_BYTES, receiveWebhook, type ReceiverAnswer, type ReceiverOptions } from './receive.js';

/** The body was larger than the receiver accepts. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reads a request body up to `maxBytes`; rejects with `BodyTooLargeError` beyond that. */
export function readBody(req: IncomingMessage, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`the body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Writes a receiver answer on a Node response. */
export function writeAnswer(res: ServerResponse, out: ReceiverAnswer): void {
  if (res.headersSent) return;
  res.statusCode = out.status;
  res.setHeader('content-type', 'application/json');
  res.end(out.body);
}

/** Reads, verifies and dispatches a request on a Node `http` server; answers it. */
export async function handleNodeRequest(options: ReceiverOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, options.maxBodyBytes);
  } catch (err) {
    options.onError?.(err, null);
    const status = err instanceof BodyTooLargeError ? 413 : 400;
    writeAnswer(res, { status, body: JSON.stringify({ error: { code: status, message: (err as Error).message } }) });
    return;
  }
  writeAnswer(res, await receiveWebhook(options, req.headers, body));
}

/**
 * A request listener for `http.createServer`: every request is read as one webhook delivery.
 * `createServer(nodeWebhookHandler({ secret, onEvent }))`.
 */
export function nodeWebhookHandler(options: ReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => void handleNodeRequest(options, req, res);
}
