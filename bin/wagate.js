#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm start` needs no build step; the
// workspace packages resolve to their sources too (see source-condition.js).
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

registerHooks('./source-condition.js', import.meta.url);
register();
await import('../src/cli/main.ts');
