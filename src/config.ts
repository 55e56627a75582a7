import { resolve } from 'node:path';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from './channel/config.js';
import type { EngineKind } from './store/types.js';

/** Everything wagate reads from the environment, read once at start-up. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | null;
  /** SQLite's `synchronous` in WAL mode: `full` (default) survives a power loss, `normal` may lose the last commits. */
  sqliteSynchronous: 'full' | 'normal';
  adminToken: string | null;
  /** A token that may read /metrics only. */
  metricsToken: string | null;
  publicUrl: string | null;
  defaultEngine: EngineKind;
  /** `allow` (default) or `deny`: whether webhooks may target private and loopback addresses. */
  webhookPrivate: 'allow' | 'deny';
  /** The WebSocket URL baileys channels connect to when they name none (tests, emulators). */
  baileysWsUrl: string | null;
  /** One delivery attempt's budget, connect to last byte. */
  webhookTimeoutMs: number;
  logLevel: string;
  bodyLimitBytes: number;
  lifecycle: LifecycleConfig;
  /**
   * Fault injection for crash tests: the process kills itself (SIGKILL) right after the engine
   * accepted its N-th sent message, before that message is recorded. Never set in production.
   */
  faultKillAfterSend: number | null;
}

type Env = Record<string, string | undefined>;

/** Reads the configuration; throws with a clear message on a malformed value. */
export function loadConfig(env: Env = process.env): Config {
  return {
    host: env.WAGATE_HOST ?? '127.0.0.1',
    port: int(env, 'WAGATE_PORT', 8080, 0, 65535),
    dataDir: resolve(env.WAGATE_DATA_DIR ?? './data'),
    databaseUrl: env.WAGATE_DATABASE_URL || null,
    sqliteSynchronous: oneOf(env, 'WAGATE_SQLITE_SYNCHRONOUS', ['full', 'normal'] as const, 'full'),
    adminToken: env.WAGATE_ADMIN_TOKEN || null,
    metricsToken: env.WAGATE_METRICS_TOKEN || null,
    publicUrl: env.WAGATE_PUBLIC_URL || null,
    defaultEngine: oneOf(env, 'WAGATE_DEFAULT_ENGINE', ['sandbox', 'baileys'] as const, 'baileys'),
    webhookPrivate: oneOf(env, 'WAGATE_WEBHOOK_PRIVATE', ['allow', 'deny'] as const, 'allow'),
    baileysWsUrl: url(env, 'WAGATE_BAILEYS_WS_URL', /^wss?:\/\/\S+$/),
    webhookTimeoutMs: int(env, 'WAGATE_WEBHOOK_TIMEOUT_MS', 15_000, 100, 300_000),
    logLevel: env.WAGATE_LOG_LEVEL ?? 'info',
    bodyLimitBytes: int(env, 'WAGATE_BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    faultKillAfterSend: env.WAGATE_FAULT_KILL_AFTER_SEND ? int(env, 'WAGATE_FAULT_KILL_AFTER_SEND', 0, 1, 1_000_000) : null,
    lifecycle: {
      ...DEFAULT_LIFECYCLE,
      initTimeoutMs: int(env, 'WAGATE_INIT_TIMEOUT_MS', DEFAULT_LIFECYCLE.initTimeoutMs, 100, 3_600_000),
      launchTimeoutMs: int(env, 'WAGATE_LAUNCH_TIMEOUT_MS', DEFAULT_LIFECYCLE.launchTimeoutMs, 100, 3_600_000),
      qrMaxRounds: int(env, 'WAGATE_QR_MAX_ROUNDS', DEFAULT_LIFECYCLE.qrMaxRounds, 1, 100),
      reconnect: {
        ...DEFAULT_LIFECYCLE.reconnect,
        maxFailures: int(env, 'WAGATE_RECONNECT_MAX_FAILURES', DEFAULT_LIFECYCLE.reconnect.maxFailures, 1, 1000),
      },
    },
  };
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

function url(env: Env, name: string, pattern: RegExp): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  if (!pattern.test(raw)) throw new Error(`${name} must match ${pattern}, got "${raw}"`);
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!values.includes(raw as T)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}
