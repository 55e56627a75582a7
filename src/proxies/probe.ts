import { connect } from 'node:net';

/** How long a probe may take before the proxy counts as unreachable. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Whether a proxy answers: a TCP connection and, for socks5, the greeting of RFC 1928 (the
 * proxy must pick a method we offered). Answers null when it does, or why not. Runs before a
 * quarantined proxy is released; `url` has been through checkProxyUrl.
 */
export function probeProxy(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  const u = new URL(url);
  const socks = u.protocol.startsWith('socks5');
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) });
    const done = (problem: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('error', (err) => done(`connect failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.once('connect', () => {
      if (!socks) return done(null);
      const methods = u.username ? [0x00, 0x02] : [0x00];
      socket.write(Buffer.from([0x05, methods.length, ...methods]));
    });
    socket.once('data', (reply) => {
      if (reply[0] !== 0x05) return done('not a socks5 proxy');
      if (reply[1] === 0xff) return done('the proxy accepts none of our authentication methods');
      done(null);
    });
    socket.once('end', () => done('the proxy closed the connection'));
  });
}
