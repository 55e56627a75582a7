import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError, readHolder } from './data-dir-lock.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'wagate-lock-'));

describe('data directory lock', () => {
  it('refuses a second holder and names the first', () => {
    const dataDir = dir();
    const first = acquireDataDirLock(dataDir, () => Date.UTC(2026, 0, 2, 3, 4, 5));
    first.announce('http://127.0.0.1:8080');
    try {
      let caught: unknown;
      try {
        acquireDataDirLock(dataDir);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DataDirLockedError);
      expect((caught as DataDirLockedError).holder).toStrictEqual({ pid: process.pid, host: first.holder.host, startedAt: '2026-01-02T03:04:05.000Z', url: 'http://127.0.0.1:8080' });
      expect((caught as Error).message).toContain(`pid ${process.pid}`);
      expect((caught as Error).message).toContain('listening on http://127.0.0.1:8080');
    } finally {
      first.release();
    }
  });

  it('can be taken again once released, and the new holder replaces the old description', () => {
    const dataDir = dir();
    acquireDataDirLock(dataDir, () => 0).release();
    const again = acquireDataDirLock(dataDir, () => 1000);
    try {
      expect(readHolder(dataDir)).toMatchObject({ startedAt: '1970-01-01T00:00:01.000Z', url: null });
    } finally {
      again.release();
    }
  });
});
