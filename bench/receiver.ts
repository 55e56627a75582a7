/** A loopback webhook receiver for benches: answers `ok` without keeping bodies (its memory is part of what a bench measures). */
import { createServer } from 'node:http';

export interface BenchReceiver {
  /** The hook URL (`…/hook`). */
  url: string;
  /** Requests answered so far. */
  count(): number;
  /** When each `webhook-id` first arrived (by `now`, at the request's start); kept only with `byId`. */
  firstAt: Map<string, number>;
  close(): Promise<void>;
}

export async function startBenchReceiver(opts: { byId?: boolean; now?: () => number } = {}): Promise<BenchReceiver> {
  const now = opts.now ?? Date.now;
  const firstAt = new Map<string, number>();
  let count = 0;
  const server = createServer((req, res) => {
    const at = now();
    const id = opts.byId ? String(req.headers['webhook-id'] ?? '') : '';
    req.resume();
    req.on('end', () => {
      count++;
      if (id && !firstAt.has(id)) firstAt.set(id, at);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, count: () => count, firstAt, close: () => new Promise((r) => server.close(() => r())) };
}
