import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** What a user of wagate reads: they have these files, not the project's specification. */
const PUBLISHED_SOURCES = ['packages/protocol/src', 'packages/client/src'].flatMap((dir) =>
  readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`),
);
const USER_DOCS = ['README.md', 'packages/client/README.md', 'packages/protocol/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('the user documentation stands alone', () => {
  it.each(USER_DOCS)('%s cites no specification section', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect(text.split('\n').filter((l) => /SPEC\b|§/.test(l))).toEqual([]);
  });

  // The packages ship their declarations (and their schemas' descriptions reach /docs).
  it.each(PUBLISHED_SOURCES)('%s, published in a package, cites no specification section', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect(text.split('\n').filter((l) => /SPEC\b|§/.test(l))).toEqual([]);
  });

  it.each(USER_DOCS)('%s links only to files that exist', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)].map((m) => (m[1] ?? m[2]) as string).filter((t) => !/^(https?:|mailto:|#)/.test(t));
    expect(targets.filter((t) => !existsSync(join(dirname(join(ROOT, file)), t.split('#')[0] as string)))).toEqual([]);
  });
});
