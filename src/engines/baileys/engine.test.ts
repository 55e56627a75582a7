import { describe, expect, it } from 'vitest';
import { defaultEngines } from '../registry.js';
import { CREDS_KEY, encode } from './auth-state.js';
import { BaileysEngine } from './engine.js';
import { LazyBaileysEngine } from './lazy.js';
import { WHATSAPP_WS_URL } from './options.js';
import { fakeSocketFactory, linkedCreds, testContext } from './testing.js';

describe('BaileysEngine', () => {
  it('is registered as the baileys engine, loaded on first use, with gateway defaults', async () => {
    const factory = defaultEngines({ baileys: { wsUrl: 'ws://127.0.0.1:9/ws' } }).baileys;
    expect(factory).toBeDefined();
    const lazy = factory?.(testContext()) as LazyBaileysEngine;
    expect(lazy).toBeInstanceOf(LazyBaileysEngine);
    expect(lazy.kind).toBe('baileys');
    const engine = await lazy.load();
    expect(engine).toBeInstanceOf(BaileysEngine);
    expect(engine.settings.wsUrl).toBe('ws://127.0.0.1:9/ws');
    expect(new BaileysEngine(testContext()).settings.wsUrl).toBe(WHATSAPP_WS_URL);
  });

  it('starts an attempt only after the previous attempt\'s credential writes landed', async () => {
    const ctx = testContext();
    ctx.credentials.data.set(CREDS_KEY, encode(linkedCreds()));
    ctx.credentials.setDelay = () => 5;
    const sockets = fakeSocketFactory();
    const engine = new BaileysEngine(ctx, { socketFactory: sockets.factory });
    const first = engine.connect(() => undefined);
    const sock1 = await sockets.socket(1);
    await sock1.open();
    void sock1.updateCreds({ lastPropHash: 'written by attempt 1' });
    void first.close();
    engine.connect(() => undefined);
    const sock2 = await sockets.socket(2);
    expect(sock2.creds.lastPropHash).toBe('written by attempt 1');
  });

  it('closes the live connection and waits for its writes on dispose', async () => {
    const ctx = testContext();
    ctx.credentials.setDelay = () => 3;
    const sockets = fakeSocketFactory();
    const engine = new BaileysEngine(ctx, { socketFactory: sockets.factory });
    engine.connect(() => undefined);
    const sock = await sockets.socket(1);
    void sock.updateCreds({ lastPropHash: 'pending' });
    await engine.dispose();
    expect(sock.ended).toStrictEqual([undefined]);
    expect(sock.listening).toBe(false);
    expect(ctx.credentials.data.get(CREDS_KEY)).toContain('pending');
  });
});
