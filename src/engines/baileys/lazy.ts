import type { Profile } from '@wagate/protocol';
import { EngineClosedError, type Engine, type EngineConnection, type EngineContext, type EngineEmit, type OutgoingContent, type OutgoingText, type SentText } from '../engine.js';
import type { BaileysEngine, BaileysEngineDeps } from './engine.js';

/**
 * The baileys engine, loaded on its first connection: importing Baileys takes about a second,
 * which a gateway without baileys channels (and every test gateway) should not pay at start.
 */
export class LazyBaileysEngine implements Engine {
  readonly kind = 'baileys' as const;
  private engine: Promise<BaileysEngine> | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly deps: BaileysEngineDeps = {},
  ) {}

  /** The real engine (imported on first use). */
  load(): Promise<BaileysEngine> {
    this.engine ??= import('./engine.js').then((m) => new m.BaileysEngine(this.ctx, this.deps));
    return this.engine;
  }

  connect(emit: EngineEmit): EngineConnection {
    const conn = this.load().then(
      (engine) => engine.connect(emit),
      (err: unknown) => {
        // Without its code the attempt cannot run; report it like any failed attempt.
        emit({ type: 'close', reason: 'transient', detail: `the baileys engine could not load: ${err instanceof Error ? err.message : String(err)}` });
        return null;
      },
    );
    return new DeferredConnection(conn);
  }

  async dispose(): Promise<void> {
    const engine = await this.engine?.catch(() => null);
    await engine?.dispose();
  }
}

/** A connection whose engine is still loading: every call waits for it. */
class DeferredConnection implements EngineConnection {
  constructor(private readonly conn: Promise<EngineConnection | null>) {}

  private async live(): Promise<EngineConnection> {
    const conn = await this.conn;
    if (!conn) throw new EngineClosedError('the baileys engine could not load');
    return conn;
  }

  async close(): Promise<void> {
    await (await this.conn)?.close();
  }

  async logout(): Promise<void> {
    await (await this.conn)?.logout();
  }

  async requestPairingCode(phone: string): Promise<string> {
    return (await this.live()).requestPairingCode(phone);
  }

  async profile(): Promise<Profile> {
    return (await this.live()).profile();
  }

  async sendText(message: OutgoingText): Promise<SentText> {
    return (await this.live()).sendText(message);
  }

  async sendContent(content: OutgoingContent): Promise<SentText> {
    return (await this.live()).sendContent(content);
  }
}
