import type { EngineKind } from '../store/types.js';
import type { EngineFactory } from './engine.js';
import { SandboxEngine } from './sandbox/engine.js';

/** The engines this gateway can run, by kind. */
export function defaultEngines(): Partial<Record<EngineKind, EngineFactory>> {
  return {
    sandbox: (ctx) => new SandboxEngine(ctx),
  };
}
