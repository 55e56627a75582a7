import { ApiError } from '@wagate/protocol';

/** Where the CLI finds the gateway, from WAGATE_URL and WAGATE_ADMIN_TOKEN. */
export interface ApiTarget {
  url: string;
  token: string;
}

/** The target from the environment, or a clear error. */
export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const token = env.WAGATE_ADMIN_TOKEN;
  if (!token) throw new Error('set WAGATE_ADMIN_TOKEN to the gateway admin token');
  return { url: (env.WAGATE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), token };
}

/** Calls the partner API; a non-2xx answer throws an ApiError carrying Whapi's error body. */
export async function call<T>(target: ApiTarget, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${target.url}${path}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`cannot reach the gateway at ${target.url}: ${(err as Error).cause ? String((err as { cause: unknown }).cause) : (err as Error).message}`);
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : {};
  if (!res.ok) {
    const e = (json as { error?: { message?: string; details?: string } }).error;
    throw new ApiError(res.status, e?.message ?? res.statusText, e?.details);
  }
  return json as T;
}

/**
 * Reads a Server-Sent Events stream, calling `onEvent` per event until `signal` aborts;
 * `onOpen` runs once the gateway accepted the stream (every later event will be seen).
 */
export async function stream(target: ApiTarget, path: string, onEvent: (name: string, data: unknown) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
  const res = await fetch(`${target.url}${path}`, { headers: { authorization: `Bearer ${target.token}`, accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, `event stream refused (${res.status})`);
  onOpen?.();
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name && data) onEvent(name, JSON.parse(data));
    }
  }
}
