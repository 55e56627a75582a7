import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from './auth-limiter.js';

/**
 * Caps the connections one client address may hold open: beyond `perAddress` a new one is
 * closed at once, so a client trickling bodies on hundreds of sockets cannot take every file
 * descriptor while others (a probe, another client) still get in. The total is capped by Node
 * (`server.maxConnections`).
 */
export function capConnections(server: Server, limits: { total: number; perAddress: number }): void {
  server.maxConnections = limits.total;
  if (limits.perAddress <= 0) return;
  const open = new Map<string, number>();
  // Ahead of Node's own listener: a refused socket is closed before anything on it is read.
  server.prependListener('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress ?? '');
    const count = open.get(key) ?? 0;
    if (count >= limits.perAddress) {
      socket.destroy();
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  });
}
