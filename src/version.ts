import { createRequire } from 'node:module';

/** wagate's version, from package.json (Health's `version`). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
