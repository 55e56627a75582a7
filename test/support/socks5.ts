import { connect, createServer, isIP, type Server, type Socket } from 'node:net';

// A small SOCKS5 proxy (RFC 1928, CONNECT only, optional RFC 1929 user/password) for tests. It
// connects only to loopback targets, so nothing a test does through it leaves the machine.

export interface Socks5Options {
  /** Destroys every tunnel this long after it opened (an unstable proxy). */
  dropAfterMs?: number;
  /** Required credentials; without them any client is let in. */
  auth?: { username: string; password: string };
}

export interface Socks5Proxy {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Tunnels opened (CONNECT succeeded). */
  tunnels: number;
  /** Tunnels this proxy cut (dropAfterMs). */
  drops: number;
  setDropAfter(ms: number | undefined): void;
  /** Cuts every open tunnel now. */
  dropAll(): void;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Starts a SOCKS5 proxy on an ephemeral loopback port. */
export async function startSocks5(opts: Socks5Options = {}): Promise<Socks5Proxy> {
  const sockets = new Set<Socket>();
  let dropAfterMs = opts.dropAfterMs;
  const state = { connections: 0, tunnels: 0, drops: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    state.connections += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    void handshake(client).catch(() => client.destroy());
  });

  async function handshake(client: Socket): Promise<void> {
    const read = reader(client);
    const [version, count] = await read(2);
    if (version !== 5) return void client.destroy();
    const methods = await read(count!);
    const method = opts.auth ? 0x02 : 0x00;
    if (!methods.includes(method)) return void client.end(Buffer.from([5, 0xff]));
    client.write(Buffer.from([5, method]));
    if (opts.auth) {
      const [, ulen] = await read(2);
      const user = (await read(ulen!)).toString();
      const [plen] = await read(1);
      const pass = (await read(plen!)).toString();
      const ok = user === opts.auth.username && pass === opts.auth.password;
      client.write(Buffer.from([1, ok ? 0 : 1]));
      if (!ok) return void client.end();
    }
    const [, cmd, , atyp] = await read(4);
    let host: string;
    if (atyp === 1) host = [...(await read(4))].join('.');
    else if (atyp === 3) host = (await read((await read(1))[0]!)).toString();
    else host = ((await read(16)).toString('hex').match(/.{4}/g) ?? []).join(':');
    const port = (await read(2)).readUInt16BE(0);
    const reply = (code: number): Buffer => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
    if (cmd !== 1) return void client.end(reply(7));
    if (!LOOPBACK.test(host) && !(isIP(host) && host.startsWith('127.'))) return void client.end(reply(2));
    const upstream = connect({ host: host === 'localhost' ? '127.0.0.1' : host, port });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('error', () => {
      client.end(reply(5));
      upstream.destroy();
    });
    upstream.once('connect', () => {
      state.tunnels += 1;
      open.add(client);
      client.on('close', () => open.delete(client));
      client.write(reply(0));
      const rest = read.rest();
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      if (dropAfterMs !== undefined) {
        const timer = setTimeout(() => {
          state.drops += 1;
          client.destroy();
          upstream.destroy();
        }, dropAfterMs);
        client.on('close', () => clearTimeout(timer));
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const creds = opts.auth ? `${opts.auth.username}:${opts.auth.password}@` : '';
  return {
    url: `socks5h://${creds}127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    get tunnels() {
      return state.tunnels;
    },
    get drops() {
      return state.drops;
    },
    setDropAfter: (ms) => {
      dropAfterMs = ms;
    },
    dropAll: () => {
      for (const s of open) {
        state.drops += 1;
        s.destroy();
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads exact byte counts from a socket during the handshake. */
function reader(socket: Socket): ((n: number) => Promise<Buffer>) & { rest(): Buffer } {
  let buffered = Buffer.alloc(0);
  let waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    flush();
  };
  const flush = (): void => {
    if (!waiting || buffered.length < waiting.n) return;
    const out = buffered.subarray(0, waiting.n);
    buffered = buffered.subarray(waiting.n);
    const w = waiting;
    waiting = null;
    w.resolve(out);
  };
  socket.on('data', onData);
  socket.once('close', () => waiting?.reject(new Error('closed')));
  const read = (n: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      waiting = { n, resolve, reject };
      flush();
    });
  return Object.assign(read, {
    rest: (): Buffer => {
      socket.off('data', onData);
      const out = buffered;
      buffered = Buffer.alloc(0);
      return out;
    },
  });
}
