import { hostname } from 'node:os';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** The file whose OS lock marks a data directory as taken. */
export const LOCK_FILE = 'wagate.lock';
/** Who holds the lock, for the message a second process prints. Only advisory: the lock decides. */
export const HOLDER_FILE = 'wagate.holder.json';

/** The process holding a data directory, as it described itself. */
export interface DataDirHolder {
  pid: number;
  host: string;
  startedAt: string; // ISO 8601
  /** Where it listens; null until it does. */
  url: string | null;
}

/** Thrown when another process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder | null,
  ) {
    super(`data directory ${dataDir} is in use by another wagate process (${describe(holder)}); stop it first or use another WAGATE_DATA_DIR`);
    this.name = 'DataDirLockedError';
  }
}

/** A held data directory: announce where the holder listens, release on close. */
export interface DataDirLock {
  readonly holder: DataDirHolder;
  /** Records the listen address in the holder file. */
  announce(url: string): void;
  release(): void;
}

/**
 * Takes the data directory for this process, or throws DataDirLockedError at once.
 *
 * The lock is SQLite's own file lock on `wagate.lock` (fcntl on POSIX), held in EXCLUSIVE
 * locking mode for the life of the connection: the OS drops it when the process dies, however
 * it dies, so a crash never leaves a stale lock, and it also holds between two gateways in one
 * process. The database itself is not locked, so backups and readers keep working. A process
 * that fails to take the lock has written nothing.
 */
export function acquireDataDirLock(dataDir: string, now: () => number = Date.now): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write transaction takes the EXCLUSIVE lock; in this mode it is never given back.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY)');
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir, readHolder(dataDir));
    throw err;
  }
  const holder: DataDirHolder = { pid: process.pid, host: hostname(), startedAt: new Date(now()).toISOString(), url: null };
  writeHolder(dataDir, holder);
  return {
    holder,
    announce: (url) => {
      holder.url = url;
      writeHolder(dataDir, holder);
    },
    release: () => {
      if (db.open) db.close();
    },
  };
}

/** The holder as last written, if the file is there and readable. */
export function readHolder(dataDir: string): DataDirHolder | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, HOLDER_FILE), 'utf8')) as DataDirHolder;
  } catch {
    return null;
  }
}

function writeHolder(dataDir: string, holder: DataDirHolder): void {
  // Written aside and renamed, so a reader never sees half a file.
  const tmp = join(dataDir, `${HOLDER_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
  renameSync(tmp, join(dataDir, HOLDER_FILE));
}

function describe(holder: DataDirHolder | null): string {
  if (!holder) return 'holder unknown';
  return `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}, ${holder.url ? `listening on ${holder.url}` : 'not listening yet'}`;
}
