import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ACK_WINDOW_MS, DEFAULT_PROBE_TIMEOUT_MS, WHATSAPP_WEB_KEEP_ALIVE_MS } from '../liveness.js';
import { BaileysOptions, baileysSettings, DEFAULT_SYNC_TIMEOUT_MS, WHATSAPP_WS_URL } from './options.js';

describe('baileys options', () => {
  it('connects to WhatsApp Web with a 60 s sync bound when nothing is set', () => {
    expect(baileysSettings({})).toStrictEqual({
      wsUrl: WHATSAPP_WS_URL,
      syncTimeoutMs: DEFAULT_SYNC_TIMEOUT_MS,
      liveness: { keepAliveMs: WHATSAPP_WEB_KEEP_ALIVE_MS, ackWindowMs: DEFAULT_ACK_WINDOW_MS, probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS },
    });
    expect(DEFAULT_SYNC_TIMEOUT_MS).toBe(60_000);
    expect([WHATSAPP_WEB_KEEP_ALIVE_MS, DEFAULT_ACK_WINDOW_MS, DEFAULT_PROBE_TIMEOUT_MS]).toStrictEqual([30_000, 3_000, 3_000]);
  });

  it('takes the liveness timings from the channel, but never pings WhatsApp itself more often than every 30 s', () => {
    const options = { keep_alive_ms: 2_000, ack_window_ms: 500, probe_timeout_ms: 800 };
    expect(baileysSettings({ ...options, ws_url: 'ws://127.0.0.1:1/' }).liveness).toStrictEqual({ keepAliveMs: 2_000, ackWindowMs: 500, probeTimeoutMs: 800 });
    expect(baileysSettings(options).liveness).toStrictEqual({ keepAliveMs: 30_000, ackWindowMs: 500, probeTimeoutMs: 800 });
    expect(Value.Check(BaileysOptions, { keep_alive_ms: 999 })).toBe(false);
  });

  it('prefers the channel\'s ws_url over the gateway default', () => {
    expect(baileysSettings({}, { wsUrl: 'ws://127.0.0.1:9000/ws' }).wsUrl).toBe('ws://127.0.0.1:9000/ws');
    expect(baileysSettings({ ws_url: 'ws://127.0.0.1:1/' }, { wsUrl: 'ws://127.0.0.1:9000/ws' }).wsUrl).toBe('ws://127.0.0.1:1/');
  });

  it('takes sync_timeout_ms from the channel', () => {
    expect(baileysSettings({ sync_timeout_ms: 5_000 }).syncTimeoutMs).toBe(5_000);
  });

  it('accepts ws and wss URLs and refuses other schemes, bounds and unknown fields', () => {
    expect(Value.Check(BaileysOptions, { ws_url: 'ws://127.0.0.1:1/' })).toBe(true);
    expect(Value.Check(BaileysOptions, { ws_url: 'wss://example.test/ws/chat', sync_timeout_ms: 1_000 })).toBe(true);
    expect(Value.Check(BaileysOptions, { ws_url: 'http://127.0.0.1/' })).toBe(false);
    expect(Value.Check(BaileysOptions, { sync_timeout_ms: 10 })).toBe(false);
    expect(Value.Check(BaileysOptions, { init_ms: 10 })).toBe(false);
  });
});
