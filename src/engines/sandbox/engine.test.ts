import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../channel/clock.js';
import type { EngineSignal } from '../../channel/lifecycle.js';
import type { EngineData } from '../engine.js';
import { SandboxEngine } from './engine.js';

describe('the sandbox engine when its credentials cannot be read', () => {
  it('ends the attempt as a transient disconnect naming the store error, rather than throwing', async () => {
    const clock = new VirtualClock();
    const failing = new Error('canceling statement due to user request');
    const engine = new SandboxEngine({
      channelId: 'ch',
      clock,
      options: { init_ms: 10, launch_ms: 10 },
      proxy: () => '',
      credentials: { get: () => Promise.reject(failing), set: async () => undefined, wipe: async () => undefined },
    });
    const signals: Array<EngineSignal | EngineData> = [];
    engine.connect((event) => void signals.push(event));
    await clock.advance(100);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const close = signals.find((s) => s.type === 'close') as { reason: string; detail: string } | undefined;
    expect(close?.reason).toBe('transient');
    expect(close?.detail).toContain('canceling statement due to user request');
    expect(signals.some((s) => s.type === 'open' || s.type === 'qr')).toBe(false);
  });
});
