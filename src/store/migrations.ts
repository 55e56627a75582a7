/** One numbered schema step. Versions only grow; an applied step is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The versions a store still has to apply, in order. */
export function pendingMigrations(all: readonly Migration[], applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return [...all].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version));
}
