import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The file in the data directory that keeps a node's generated id across restarts. */
export const NODE_ID_FILE = 'node-id';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Throws unless `id` is a usable node id (letters, digits, `.`, `_`, `-`; up to 63). */
export function checkNodeId(id: string, source: string): string {
  if (!NODE_ID.test(id)) throw new Error(`${source} must be 1-63 letters, digits, ".", "_" or "-", got "${id}"`);
  return id;
}

/**
 * This node's id: WAGATE_NODE_ID, else the one kept in the data directory, else a new one
 * (`<host>-<6 hex>`) written there, so a restarted node is the same node.
 */
export function resolveNodeId(configured: string | null, dataDir: string): string {
  if (configured) return checkNodeId(configured, 'WAGATE_NODE_ID');
  const file = join(dataDir, NODE_ID_FILE);
  try {
    return checkNodeId(readFileSync(file, 'utf8').trim(), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 40) || 'node';
  const id = `${host}-${randomBytes(3).toString('hex')}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { flag: 'wx' });
  return id;
}
