import { initAuthCreds } from 'baileys';
import pino from 'pino';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { describe, expect, it } from 'vitest';
import { makeBaileysSocket, proxyAgent, socketConfig, type SocketFactory } from './socket.js';

const auth = { creds: initAuthCreds(), keys: { get: async () => ({}), set: async () => undefined } };
const logger = pino({ level: 'silent' });
const getMessage = async (): Promise<undefined> => undefined;

describe('socketConfig', () => {
  it('connects directly to the given WebSocket URL when the channel has no proxy', () => {
    const config = socketConfig({ auth, logger, wsUrl: 'ws://127.0.0.1:1/', proxy: '', getMessage, keepAliveMs: 30_000 });
    expect(config.waWebSocketUrl).toBe('ws://127.0.0.1:1/');
    expect(config.agent).toBeUndefined();
    expect(config.fetchAgent).toBeUndefined();
    expect(config.auth).toBe(auth);
    expect(config.logger).toBe(logger);
    expect(config.emitOwnEvents).toBe(false);
    expect(config.keepAliveIntervalMs).toBe(30_000);
  });

  it('tunnels the WebSocket and media fetches through the channel\'s socks5 proxy', () => {
    const config = socketConfig({ auth, logger, wsUrl: 'wss://web.whatsapp.com/ws/chat', proxy: 'socks5://user:pw@127.0.0.1:1080', getMessage, keepAliveMs: 30_000 });
    expect(config.agent).toBeInstanceOf(SocksProxyAgent);
    expect(config.fetchAgent).toBe(config.agent);
    const agent = config.agent as unknown as SocksProxyAgent;
    expect(agent.proxy.host).toBe('127.0.0.1');
    expect(agent.proxy.port).toBe(1080);
    expect(agent.proxy.userId).toBe('user');
  });

  it('builds no agent for an empty proxy setting', () => {
    expect(proxyAgent('')).toBeUndefined();
  });

  it('has Baileys\' makeWASocket as the default factory', () => {
    const factory: SocketFactory = makeBaileysSocket;
    expect(typeof factory).toBe('function');
  });
});
