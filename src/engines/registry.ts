import type { EngineKind } from '../store/types.js';
import { LazyBaileysEngine } from './baileys/lazy.js';
import type { BaileysDefaults } from './baileys/options.js';
import type { EngineFactory } from './engine.js';
import { SandboxEngine } from './sandbox/engine.js';

/** Gateway-wide engine settings, from the gateway's config. */
export interface EngineDefaults {
  baileys?: BaileysDefaults;
}

/** The engines this gateway can run, by kind. */
export function defaultEngines(defaults: EngineDefaults = {}): Partial<Record<EngineKind, EngineFactory>> {
  return {
    sandbox: (ctx) => new SandboxEngine(ctx),
    baileys: (ctx) => new LazyBaileysEngine(ctx, { defaults: defaults.baileys }),
  };
}
