/** Thrown when a write names a channel that does not exist (for example, deleted meanwhile). */
export class UnknownChannelError extends Error {
  constructor(readonly channelId: string) {
    super(`channel ${channelId} does not exist`);
    this.name = 'UnknownChannelError';
  }
}

/**
 * Thrown when a write's lease is stale: another node owns the channel now (or the lease expired).
 * Never retried: the writer has lost ownership and must stop the channel's engine.
 */
export class LeaseLostError extends Error {
  constructor(
    readonly channelId: string,
    readonly epoch: number,
  ) {
    super(`channel ${channelId}: the lease of epoch ${epoch} is no longer held; the write was refused`);
    this.name = 'LeaseLostError';
  }
}

/**
 * PostgreSQL SQLSTATEs (or their two-character classes) that say the database could not do the
 * work right now, not that the work was wrong: retrying the same statement later can succeed.
 */
const PG_TRANSIENT = ['08', '53', '58', '57P01', '57P02', '57P03', '57014', '40001', '40P01', '25006', '55P03'];

/** SQLite result codes (extended codes start with these) of the same kind: full disk, I/O, locks. */
const SQLITE_TRANSIENT = ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL'];

/** Socket errors of a connection to the database server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** node-postgres reports a dropped connection or a pool timeout as a plain Error with these texts. */
const PG_CLIENT_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /not queryable/, /Connection ended/, /Query read timeout/];

/**
 * True when `err` is the store failing (a dropped or cancelled connection, a full disk, a lock
 * held too long) rather than a bug or a refused write: the caller may retry it, and the HTTP
 * layer answers 503 with Retry-After.
 */
export function isStoreFault(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return SQLITE_TRANSIENT.some((c) => code.startsWith(c));
    if (NETWORK_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return PG_TRANSIENT.some((c) => code.startsWith(c));
  }
  return PG_CLIENT_MESSAGES.some((re) => re.test(err.message));
}

/** The store cannot take writes or reads right now; the HTTP layer answers 503. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly storeKind: string,
    cause?: unknown,
  ) {
    super(`the ${storeKind} store is unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
