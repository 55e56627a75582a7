import { Value } from '@sinclair/typebox/value';
import {
  WireHealth,
  type Chat,
  type HistoryEntry,
  type PairingCode,
  type Profile,
  type QR,
  type SendText,
  type SentMessage,
  type SettingsAnswer,
  type SettingsPatch,
  type UpdateSettingsAnswer,
  type WebhookSubscription,
  type WireMessage,
} from '../protocol.js';
import { NetworkError, UnexpectedResponseError, errorFromAnswer } from './errors.js';

export interface GateClientOptions {
  /** wagate's address (`http://127.0.0.1:8080`) or Whapi.Cloud's (`https://gate.whapi.cloud`). */
  baseUrl: string;
  /** The channel token, sent as `Authorization: Bearer`. */
  token: string;
  /** Abandon a request after this long (default 30 s); it then fails as a `NetworkError` with `timedOut`. */
  timeoutMs?: number;
  /** Another fetch (a proxy agent, a test double); default the global one. */
  fetch?: typeof fetch;
  /** Headers sent on every request (a User-Agent, a tracing id). */
  headers?: Record<string, string>;
}

export interface Paging {
  count?: number;
  offset?: number;
}
export interface MessageQuery extends Paging {
  time_from?: number;
  time_to?: number;
  from_me?: boolean;
}
export interface WakeupOption {
  /** `false` never starts a parked or never-started channel (default `true`, as the server's). */
  wakeup?: boolean;
}
export interface SendOptions {
  /** Makes the send safe to retry: the same key within 24 h answers the first answer and sends nothing again. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Called when the gateway answered from its idempotency record (`idempotent-replayed: true`): nothing was sent again. */
  onReplayed?(): void;
}

export interface MessagesPage {
  messages: WireMessage[];
  count: number;
  total: number;
  offset: number;
  first?: number;
}
export interface ChatsPage {
  chats: Chat[];
  count: number;
  total: number;
  offset: number;
}
export interface HistoryPage {
  history: HistoryEntry[];
  total: number;
  count: number;
  offset: number;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  binary?: boolean;
  onHeaders?(headers: Headers): void;
}

/**
 * A typed client of the gate API (the channel-token API that wagate and Whapi.Cloud share).
 * Every failure is thrown as a `GateError` subclass; narrow on `err.kind`.
 */
export class GateClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: GateClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** `GET /health`: the channel's status (validated, as the tracker relies on it). */
  async health(options: WakeupOption = {}): Promise<WireHealth> {
    const body = await this.request<unknown>('GET', '/health', { query: { wakeup: options.wakeup } });
    if (!Value.Check(WireHealth, body)) throw this.malformed('GET', '/health', body);
    return body;
  }

  /** `GET /health/history` (wagate extension): status changes, newest first. */
  healthHistory(paging: Paging = {}): Promise<HistoryPage> {
    return this.request('GET', '/health/history', { query: { ...paging } });
  }

  /** `GET /users/login`: the QR with its image (`status` WAITING or TIMEOUT when there is none). */
  login(options: WakeupOption = {}): Promise<QR> {
    return this.request('GET', '/users/login', { query: { wakeup: options.wakeup } });
  }

  /** `GET /users/login/rowdata`: the QR text without the image. */
  loginRowdata(options: WakeupOption = {}): Promise<QR> {
    return this.request('GET', '/users/login/rowdata', { query: { wakeup: options.wakeup } });
  }

  /** `GET /users/login/image`: the QR as PNG bytes. */
  loginImage(options: WakeupOption = {}): Promise<Uint8Array> {
    return this.request('GET', '/users/login/image', { query: { wakeup: options.wakeup }, binary: true });
  }

  /** `GET /users/login/{phone}`: a pairing code to type on the phone. */
  pairingCode(phone: string): Promise<PairingCode> {
    return this.request('GET', `/users/login/${segment(phone)}`);
  }

  /** `POST /users/logout`. */
  logout(): Promise<{ success: boolean }> {
    return this.request('POST', '/users/logout');
  }

  /** `GET /users/profile`: the linked account's name, about and icon. */
  profile(): Promise<Profile> {
    return this.request('GET', '/users/profile');
  }

  readonly settings = {
    /** `GET /settings`. */
    get: (): Promise<SettingsAnswer> => this.request('GET', '/settings'),
    /** `PATCH /settings`: absent fields stay as they are. */
    patch: (patch: SettingsPatch): Promise<UpdateSettingsAnswer> => this.request('PATCH', '/settings', { body: patch }),
    /** `DELETE /settings`: back to the defaults; a 409 ApiError when they already are. */
    reset: (): Promise<{ success: boolean }> => this.request('DELETE', '/settings'),
    /** `GET /settings/events`: the events a webhook can subscribe to (`extensions`: with wagate's `alerts`). */
    events: (options: { extensions?: boolean } = {}): Promise<WebhookSubscription[]> =>
      this.request('GET', options.extensions ? '/settings/events?extensions=true' : '/settings/events'),
  };

  readonly messages = {
    /** `POST /messages/text`. Pass an `idempotencyKey` to make retries safe. */
    sendText: (body: SendText, options: SendOptions = {}): Promise<SentMessage> => {
      const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
      const onHeaders = (h: Headers): void => {
        if (h.get('idempotent-replayed') === 'true') options.onReplayed?.();
      };
      return this.request('POST', '/messages/text', { body, headers, signal: options.signal, onHeaders });
    },
    /** `GET /messages/list`, newest first. */
    list: (query: MessageQuery = {}): Promise<MessagesPage> => this.request('GET', '/messages/list', { query: { ...query } }),
    /** `GET /messages/list/{ChatID}`. */
    listByChat: (chatId: string, query: MessageQuery = {}): Promise<MessagesPage> =>
      this.request('GET', `/messages/list/${segment(chatId)}`, { query: { ...query } }),
    /** `GET /messages/{MessageID}`. */
    get: (id: string): Promise<WireMessage> => this.request('GET', `/messages/${segment(id)}`),
  };

  readonly chats = {
    /** `GET /chats`, latest activity first. */
    list: (paging: Paging = {}): Promise<ChatsPage> => this.request('GET', '/chats', { query: { ...paging } }),
    /** `GET /chats/{ChatID}`. */
    get: (chatId: string): Promise<Chat> => this.request('GET', `/chats/${segment(chatId)}`),
  };

  /** Any gate route: JSON in, JSON out, errors typed. The escape hatch for routes without a method here. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: opts.binary ? 'image/png' : 'application/json', ...this.options.headers, ...opts.headers };
    headers.authorization = `Bearer ${this.options.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    let raw: Uint8Array;
    try {
      res = await this.fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal, redirect: 'error' });
      raw = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      const timedOut = timeout.aborted && !opts.signal?.aborted;
      const message = timedOut ? `no answer within ${this.timeoutMs} ms` : describe(err);
      throw new NetworkError({ method, path, status: 0, message, cause: err }, timedOut);
    }
    if (res.ok && opts.binary) return raw as T;
    const text = new TextDecoder().decode(raw);
    let body: unknown = text;
    if (text && (res.headers.get('content-type') ?? '').includes('json')) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        if (res.ok) throw this.malformed(method, path, text);
      }
    }
    if (!res.ok) throw errorFromAnswer(method, path, res.status, body, res.headers, Date.now());
    opts.onHeaders?.(res.headers);
    return body as T;
  }

  private malformed(method: string, path: string, body: unknown): UnexpectedResponseError {
    return new UnexpectedResponseError({ method, path, status: 200, message: 'the answer does not have the documented shape', body });
  }
}

/** A path segment: escaped, but `@` of chat ids kept readable (it is legal in a path). */
function segment(value: string): string {
  return encodeURIComponent(value).replace(/%40/g, '@');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return [err.message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
}
