import { describe, expect, it } from 'vitest';
import type { EngineSignal } from '../../channel/lifecycle.js';
import { EngineClosedError, type EngineData } from '../engine.js';
import type { BaileysEngine } from './engine.js';
import { LazyBaileysEngine } from './lazy.js';
import { fakeSocketFactory, testContext } from './testing.js';

describe('LazyBaileysEngine', () => {
  it('loads the engine on the first connection and hands calls through', async () => {
    const sockets = fakeSocketFactory();
    const engine = new LazyBaileysEngine(testContext(), { socketFactory: sockets.factory });
    const events: Array<EngineSignal | EngineData> = [];
    const conn = engine.connect((e) => void events.push(e));
    const sock = await sockets.socket(1);
    await sock.connecting();
    await sock.qr('2@ref');
    await expect(conn.requestPairingCode('15551234567')).resolves.toBe('ABCD-1234');
    await expect(conn.sendText({ chatId: '1@s.whatsapp.net', body: 'x', linkPreview: false })).rejects.toBeInstanceOf(EngineClosedError);
    expect(events.map((e) => e.type)).toStrictEqual(['launching', 'qr']);
    await engine.dispose();
    expect(sock.ended).toStrictEqual([undefined]);
  });

  it('closes a connection asked to close while the engine was still loading', async () => {
    const sockets = fakeSocketFactory();
    const engine = new LazyBaileysEngine(testContext(), { socketFactory: sockets.factory });
    const events: unknown[] = [];
    const conn = engine.connect((e) => void events.push(e));
    await conn.close();
    await engine.dispose();
    expect(sockets.sockets).toStrictEqual([]);
    expect(events).toStrictEqual([]);
  });

  it('reports an engine that cannot load as a failed attempt', async () => {
    class Broken extends LazyBaileysEngine {
      override load(): Promise<BaileysEngine> {
        return Promise.reject(new Error('Cannot find package baileys'));
      }
    }
    const events: Array<EngineSignal | EngineData> = [];
    const conn = new Broken(testContext()).connect((e) => void events.push(e));
    await expect(conn.sendText({ chatId: '1@s.whatsapp.net', body: 'x', linkPreview: false })).rejects.toBeInstanceOf(EngineClosedError);
    expect(events).toStrictEqual([{ type: 'close', reason: 'transient', detail: 'the baileys engine could not load: Cannot find package baileys' }]);
    await expect(conn.close()).resolves.toBeUndefined();
    await expect(conn.logout()).resolves.toBeUndefined();
  });
});
