import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from './channel/config.js';
import { REMEDIATION_MODES } from '@wagate/protocol';
import { checkClusterTimings, DEFAULT_CLUSTER, type ClusterConfig } from './cluster/config.js';
import { DEFAULT_REMEDIATION, type RemediationConfig } from './remediation/config.js';
import type { EngineKind } from './store/types.js';
import { RETENTION_DEFAULTS, type RetentionWindows } from './store/retention.js';

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
  /**
   * `WAGATE_BAILEYS_MEDIA_CA`: a PEM file whose certificates baileys channels trust, besides the
   * system's roots, for WhatsApp's media hosts (uploads and downloads): an emulator's, in tests.
   */
  baileysMediaCa: string | null;
  /** One delivery attempt's budget: the answer's headers within it, then no pause longer in its body. */
  webhookTimeoutMs: number;
  /** How long finished deliveries, events and status history are kept. */
  retention: RetentionWindows;
  logLevel: string;
  bodyLimitBytes: number;
  http: HttpLimits;
  /** The largest media file stored, uploaded, fetched or sent (SPEC §6, media). */
  mediaMaxBytes: number;
  /** Stored media older than this is pruned. */
  mediaRetentionDays: number;
  /** Fetching one media URL, connect to last byte. */
  mediaFetchTimeoutMs: number;
  lifecycle: LifecycleConfig;
  /**
   * Fault injection for crash tests: the process kills itself (SIGKILL) right after the engine
   * accepted its N-th sent message, before that message is recorded. Never set in production.
   */
  faultKillAfterSend: number | null;
  /** Remediation's gateway-wide defaults (SPEC §11); flapping uses the lifecycle's thresholds. */
  remediation: RemediationConfig;
  /** WAGATE_NODE_SECRET: what nodes show each other when one forwards a request to another (SPEC §10). */
  nodeSecret: string | null;
  /** Several nodes on one PostgreSQL database (SPEC §10); unused on SQLite. */
  cluster: ClusterConfig;
}

/** How long and how many: the HTTP server's defences against slow, many and guessing clients. */
export interface HttpLimits {
  /** A request (headers and body) must have arrived within this; then 408 and the connection closes. */
  requestTimeoutMs: number;
  /** The request's headers must have arrived within this. */
  headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed. */
  connectionTimeoutMs: number;
  /** Open connections beyond this are closed at once. */
  maxConnections: number;
  /** Open connections from one client address beyond this are closed at once (0: no cap). */
  maxConnectionsPerAddress: number;
  /** An event stream whose client reads nothing of what waits for it this long is cut off. */
  streamStallTimeoutMs: number;
  /** Failed authentications one client address may make per `authFailureWindowMs`. */
  authFailureLimit: number;
  authFailureWindowMs: number;
}

/**
 * A request may rightly be silent this long while it waits: a held send (`send_hold_ms`, at most
 * 60 s) and then its engine. The idle timeout must outlast it.
 */
const MIN_CONNECTION_TIMEOUT_MS = 65_000;

/** An admin token shorter than this can be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 24;

type Env = Record<string, string | undefined>;

/** Reads the configuration; throws with a clear message on a malformed value. */
export function loadConfig(env: Env = process.env): Config {
  const flap = {
    drops: int(env, 'WAGATE_FLAP_DROPS', DEFAULT_LIFECYCLE.flap.drops, 2, 1000),
    windowMs: int(env, 'WAGATE_FLAP_WINDOW_MS', DEFAULT_LIFECYCLE.flap.windowMs, 1000, 24 * 3_600_000),
  };
  const webhookTimeoutMs = int(env, 'WAGATE_WEBHOOK_TIMEOUT_MS', 15_000, 100, 300_000);
  return {
    host: env.WAGATE_HOST ?? '127.0.0.1',
    port: int(env, 'WAGATE_PORT', 8080, 0, 65535),
    dataDir: resolve(env.WAGATE_DATA_DIR ?? './data'),
    databaseUrl: env.WAGATE_DATABASE_URL || null,
    sqliteSynchronous: oneOf(env, 'WAGATE_SQLITE_SYNCHRONOUS', ['full', 'normal'] as const, 'full'),
    adminToken: adminToken(env),
    metricsToken: env.WAGATE_METRICS_TOKEN || null,
    publicUrl: env.WAGATE_PUBLIC_URL || null,
    defaultEngine: oneOf(env, 'WAGATE_DEFAULT_ENGINE', ['sandbox', 'baileys'] as const, 'baileys'),
    webhookPrivate: oneOf(env, 'WAGATE_WEBHOOK_PRIVATE', ['allow', 'deny'] as const, 'allow'),
    baileysWsUrl: url(env, 'WAGATE_BAILEYS_WS_URL', /^wss?:\/\/\S+$/),
    baileysMediaCa: pemFile(env, 'WAGATE_BAILEYS_MEDIA_CA'),
    webhookTimeoutMs,
    retention: {
      deliveriesDays: int(env, 'WAGATE_RETENTION_DELIVERIES_DAYS', RETENTION_DEFAULTS.deliveriesDays, 1, 3650),
      eventsDays: int(env, 'WAGATE_RETENTION_EVENTS_DAYS', RETENTION_DEFAULTS.eventsDays, 1, 3650),
      historyDays: int(env, 'WAGATE_RETENTION_HISTORY_DAYS', RETENTION_DEFAULTS.historyDays, 1, 3650),
    },
    logLevel: env.WAGATE_LOG_LEVEL ?? 'info',
    bodyLimitBytes: int(env, 'WAGATE_BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    faultKillAfterSend: env.WAGATE_FAULT_KILL_AFTER_SEND ? int(env, 'WAGATE_FAULT_KILL_AFTER_SEND', 0, 1, 1_000_000) : null,
    http: httpLimits(env, webhookTimeoutMs),
    mediaMaxBytes: int(env, 'WAGATE_MEDIA_MAX_BYTES', 16 * 1_048_576, 1024, 1024 * 1_048_576),
    mediaRetentionDays: int(env, 'WAGATE_MEDIA_RETENTION_DAYS', 30, 1, 3650),
    mediaFetchTimeoutMs: int(env, 'WAGATE_MEDIA_FETCH_TIMEOUT_MS', 30_000, 100, 600_000),
    lifecycle: {
      ...DEFAULT_LIFECYCLE,
      initTimeoutMs: int(env, 'WAGATE_INIT_TIMEOUT_MS', DEFAULT_LIFECYCLE.initTimeoutMs, 100, 3_600_000),
      launchTimeoutMs: int(env, 'WAGATE_LAUNCH_TIMEOUT_MS', DEFAULT_LIFECYCLE.launchTimeoutMs, 100, 3_600_000),
      qrMaxRounds: int(env, 'WAGATE_QR_MAX_ROUNDS', DEFAULT_LIFECYCLE.qrMaxRounds, 1, 100),
      reconnect: {
        ...DEFAULT_LIFECYCLE.reconnect,
        maxFailures: int(env, 'WAGATE_RECONNECT_MAX_FAILURES', DEFAULT_LIFECYCLE.reconnect.maxFailures, 1, 1000),
      },
      flap,
    },
    nodeSecret: nodeSecret(env),
    cluster: cluster(env),
    remediation: {
      mode: oneOf(env, 'WAGATE_REMEDIATION', REMEDIATION_MODES, DEFAULT_REMEDIATION.mode),
      maxActionsPerHour: int(env, 'WAGATE_REMEDIATION_MAX_PER_HOUR', DEFAULT_REMEDIATION.maxActionsPerHour, 1, 100),
      flap,
      stuckBackoff: {
        baseMs: int(env, 'WAGATE_REMEDIATION_BACKOFF_MS', DEFAULT_REMEDIATION.stuckBackoff.baseMs, 100, 3_600_000),
        maxMs: DEFAULT_REMEDIATION.stuckBackoff.maxMs,
      },
      cooldownMs: int(env, 'WAGATE_REMEDIATION_COOLDOWN_MS', DEFAULT_REMEDIATION.cooldownMs, 100, 24 * 3_600_000),
    },
  };
}

function cluster(env: Env): ClusterConfig {
  const d = DEFAULT_CLUSTER;
  const c: ClusterConfig = {
    nodeId: env.WAGATE_NODE_ID || null,
    nodeUrl: url(env, 'WAGATE_NODE_URL', /^https?:\/\/\S+$/),
    ttlMs: int(env, 'WAGATE_LEASE_TTL_MS', d.ttlMs, 300, 3_600_000),
    renewMs: int(env, 'WAGATE_LEASE_RENEW_MS', d.renewMs, 50, 3_600_000),
    fenceMs: int(env, 'WAGATE_LEASE_FENCE_MS', d.fenceMs, 100, 3_600_000),
    tickMs: int(env, 'WAGATE_PLACEMENT_INTERVAL_MS', d.tickMs, 50, 600_000),
    rebalanceIntervalMs: int(env, 'WAGATE_REBALANCE_INTERVAL_MS', d.rebalanceIntervalMs, 100, 3_600_000),
    rebalanceMoves: int(env, 'WAGATE_REBALANCE_MOVES', d.rebalanceMoves, 0, 100_000),
  };
  checkClusterTimings(c);
  return c;
}

function adminToken(env: Env): string | null {
  const token = env.WAGATE_ADMIN_TOKEN;
  if (!token) return null;
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(
      `WAGATE_ADMIN_TOKEN is ${token.length} characters long; it must be at least ${MIN_ADMIN_TOKEN_LENGTH}, so it cannot be guessed ` +
        '(make one with `openssl rand -base64 32`, or unset it and wagate generates one on first start)',
    );
  }
  return token;
}

/** A node secret shorter than this can be guessed. */
export const MIN_NODE_SECRET_LENGTH = 24;

function nodeSecret(env: Env): string | null {
  const secret = env.WAGATE_NODE_SECRET;
  if (!secret) return null;
  if (secret.length < MIN_NODE_SECRET_LENGTH || /\s/.test(secret)) {
    throw new Error(`WAGATE_NODE_SECRET must be at least ${MIN_NODE_SECRET_LENGTH} characters without spaces (make one with \`openssl rand -hex 32\`), the same on every node`);
  }
  return secret;
}

function httpLimits(env: Env, webhookTimeoutMs: number): HttpLimits {
  const limits: HttpLimits = {
    requestTimeoutMs: int(env, 'WAGATE_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    headersTimeoutMs: int(env, 'WAGATE_HEADERS_TIMEOUT_MS', 10_000, 100, 3_600_000),
    connectionTimeoutMs: int(env, 'WAGATE_CONNECTION_TIMEOUT_MS', 120_000, MIN_CONNECTION_TIMEOUT_MS, 3_600_000),
    maxConnections: int(env, 'WAGATE_MAX_CONNECTIONS', 1000, 1, 1_000_000),
    maxConnectionsPerAddress: int(env, 'WAGATE_MAX_CONNECTIONS_PER_ADDRESS', 200, 0, 1_000_000),
    streamStallTimeoutMs: int(env, 'WAGATE_STREAM_STALL_TIMEOUT_MS', 30_000, 100, 3_600_000),
    authFailureLimit: int(env, 'WAGATE_AUTH_FAILURE_LIMIT', 20, 1, 1_000_000),
    authFailureWindowMs: int(env, 'WAGATE_AUTH_FAILURE_WINDOW_MS', 60_000, 1000, 86_400_000),
  };
  // Node checks the headers deadline first; one longer than the whole request's would never fire.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error(`WAGATE_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not exceed WAGATE_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})`);
  }
  // POST /settings/webhook_test answers after one delivery attempt: the connection must outlast it.
  if (limits.connectionTimeoutMs < webhookTimeoutMs + 5000) {
    throw new Error(`WAGATE_CONNECTION_TIMEOUT_MS (${limits.connectionTimeoutMs}) must be at least WAGATE_WEBHOOK_TIMEOUT_MS + 5000 (${webhookTimeoutMs + 5000})`);
  }
  return limits;
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

function pemFile(env: Env, name: string): string | null {
  const path = env[name];
  if (!path) return null;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${name}: cannot read ${path}: ${(err as Error).message}`);
  }
  // Only the certificates: a file that also holds a key (an emulator's) keeps it out of the config.
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new Error(`${name}: ${path} holds no PEM certificate`);
  return certs.join('\n');
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!values.includes(raw as T)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}
