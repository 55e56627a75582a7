import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { BaileysOptions, baileysSettings, DEFAULT_SYNC_TIMEOUT_MS, WHATSAPP_WS_URL } from './options.js';

describe('baileys options', () => {
  it('connects to WhatsApp Web with a 60 s sync bound when nothing is set', () => {
    expect(baileysSettings({})).toStrictEqual({ wsUrl: WHATSAPP_WS_URL, syncTimeoutMs: DEFAULT_SYNC_TIMEOUT_MS });
    expect(DEFAULT_SYNC_TIMEOUT_MS).toBe(60_000);
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
