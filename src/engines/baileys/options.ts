import { Type, type Static } from '@sinclair/typebox';
import type { MediaDownload } from './media.js';
import { LivenessOptions, livenessTimings, WHATSAPP_WEB_KEEP_ALIVE_MS, type LivenessTimings } from '../liveness.js';

/** WhatsApp Web's own endpoint; Baileys' default. */
export const WHATSAPP_WS_URL = 'wss://web.whatsapp.com/ws/chat';

/** How long after `open` the initial sync may take before the channel reports SYNC_ERROR. */
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000;

/**
 * The `baileys` object a channel may carry at creation. `ws_url` points the channel at another
 * WebSocket endpoint (an emulator on loopback in tests); `sync_timeout_ms` bounds the initial sync;
 * `keep_alive_ms`, `ack_window_ms` and `probe_timeout_ms` time the liveness watch (docs/baileys.md).
 */
export const BaileysOptions = Type.Object(
  {
    ws_url: Type.Optional(Type.String({ pattern: '^wss?://\\S+$', maxLength: 2048 })),
    sync_timeout_ms: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 3_600_000 })),
    ...LivenessOptions,
  },
  { additionalProperties: false },
);
export type BaileysOptions = Static<typeof BaileysOptions>;

/** Gateway-wide defaults for every baileys channel (from the gateway's config). */
export interface BaileysDefaults {
  /** `WAGATE_BAILEYS_WS_URL`: the endpoint for channels that name none. */
  wsUrl?: string;
  /** `WAGATE_BAILEYS_MEDIA_CA`: PEM certificates trusted for media uploads besides the system's roots. */
  mediaCa?: string;
  /** Fetches inbound media files through the gateway's SSRF guard (absent: inbound files are refused). */
  download?: MediaDownload;
}

export interface BaileysSettings {
  wsUrl: string;
  mediaCa?: string;
  syncTimeoutMs: number;
  liveness: LivenessTimings;
}

/** The settings of one baileys channel: its own options, else the gateway's defaults, else WhatsApp's. */
export function baileysSettings(options: Record<string, unknown>, defaults: BaileysDefaults = {}): BaileysSettings {
  const o = options as BaileysOptions;
  const wsUrl = o.ws_url || defaults.wsUrl || WHATSAPP_WS_URL;
  const liveness = livenessTimings(options);
  // A faster keep-alive is for emulators: WhatsApp itself is never pinged more often than its Web client does.
  if (wsUrl === WHATSAPP_WS_URL) liveness.keepAliveMs = Math.max(liveness.keepAliveMs, WHATSAPP_WEB_KEEP_ALIVE_MS);
  return { wsUrl, syncTimeoutMs: o.sync_timeout_ms ?? DEFAULT_SYNC_TIMEOUT_MS, liveness, ...(defaults.mediaCa && { mediaCa: defaults.mediaCa }) };
}
