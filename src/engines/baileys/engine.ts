import pino from 'pino';
import type { Engine, EngineConnection, EngineContext, EngineEmit } from '../engine.js';
import type { BaileysLogger } from './auth-state.js';
import { BaileysConnection } from './connection.js';
import { CredentialWriter } from './credential-writer.js';
import type { MediaDownload } from './media.js';
import { baileysSettings, type BaileysDefaults, type BaileysSettings } from './options.js';
import { RecentMessages } from './recent-messages.js';
import { makeBaileysSocket, type SocketFactory } from './socket.js';

export interface BaileysEngineDeps {
  /** Makes the socket of each attempt (default: Baileys' makeWASocket; tests pass a fake). */
  socketFactory?: SocketFactory;
  /**
   * Where Baileys logs (default: nowhere). Baileys logs protocol nodes at info level and message
   * contents at debug and trace: give it a logger at `warn` or above.
   */
  logger?: BaileysLogger;
  /** Gateway-wide defaults (`WAGATE_BAILEYS_WS_URL`). */
  defaults?: BaileysDefaults;
}

/**
 * Real WhatsApp (multi-device) through Baileys. One engine per channel; each connection attempt
 * gets its own socket and auth state, while the credential writer and the recent-message memory
 * are shared across attempts, so an attempt starts only after the previous one's writes landed.
 */
export class BaileysEngine implements Engine {
  readonly kind = 'baileys' as const;
  readonly settings: BaileysSettings;
  private readonly writer: CredentialWriter;
  private readonly recent = new RecentMessages();
  private readonly factory: SocketFactory;
  private readonly logger: BaileysLogger;
  private live: BaileysConnection | null = null;
  private readonly download: MediaDownload;

  constructor(
    private readonly ctx: EngineContext,
    deps: BaileysEngineDeps = {},
  ) {
    this.settings = baileysSettings(ctx.options, deps.defaults);
    this.writer = new CredentialWriter(ctx.credentials);
    this.factory = deps.socketFactory ?? makeBaileysSocket;
    this.logger = deps.logger ?? pino({ level: 'silent' });
    this.download = deps.defaults?.download ?? (() => Promise.reject(new Error('this gateway fetches no inbound media')));
  }

  connect(emit: EngineEmit): EngineConnection {
    this.live = new BaileysConnection(
      { ctx: this.ctx, settings: this.settings, writer: this.writer, factory: this.factory, logger: this.logger, recent: this.recent, download: this.download },
      emit,
    );
    return this.live;
  }

  async dispose(): Promise<void> {
    await this.live?.close();
    this.live = null;
    await this.writer.idle();
  }
}
