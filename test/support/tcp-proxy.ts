import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy the test can freeze: a network partition between a process and a server. */
export interface TcpProxy {
  /** host:port to dial instead of the target. */
  port: number;
  /** Freezes every connection (no byte moves either way) and holds new ones unconnected. */
  pause(): void;
  /** Lets everything flow again: held bytes and held connections go on where they stopped. */
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let paused = false;
  const pairs = new Set<[Socket, Socket | null]>();
  const waiting: Array<() => void> = [];
  const link = (client: Socket): void => {
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket | null] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (paused) {
      client.pause();
      upstream.pause();
    }
  };
  const server: Server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (!paused) return link(client);
    // A connection made during the partition hangs until it ends, like a SYN into the void.
    client.pause();
    waiting.push(() => link(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    pause: () => {
      paused = true;
      for (const [a, b] of pairs) {
        a.pause();
        b?.pause();
      }
    },
    resume: () => {
      paused = false;
      for (const [a, b] of pairs) {
        a.resume();
        b?.resume();
      }
      for (const go of waiting.splice(0)) go();
    },
    close: async () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
