// The partner API with the admin token: the only thing the dashboard talks to.

const KEY = 'wagate.adminToken';

/** Where the admin token is kept: this tab only, or this device when the operator asked. */
export const tokenStore = {
  get() {
    return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
  },
  save(token, remember) {
    sessionStorage.setItem(KEY, token);
    if (remember) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  },
};

/** A failed call, with Whapi's error fields. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.details = error?.details;
  }
}

let onUnauthorized = () => {};

/** Called when the gateway stops accepting the token mid-session. */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * One JSON call; throws ApiError with the gateway's message and details. With an explicit
 * `token` (signing in) a 401 is only thrown; otherwise it also ends the session.
 */
export async function api(method, path, body, { token } = {}) {
  const session = token === undefined;
  token ??= tokenStore.get();
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { message: 'The gateway did not answer', details: 'check that it is running and reachable' });
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json?.error);
    if (res.status === 401 && session) onUnauthorized(err);
    throw err;
  }
  return json;
}

/** `/partner/channels/<id><rest>`. */
export function channelPath(id, rest = '') {
  return `/partner/channels/${encodeURIComponent(id)}${rest}`;
}
