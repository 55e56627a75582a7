import type { CredentialStore, EngineContext } from '../engines/engine.js';
import type { Fence } from '../store/cluster.js';
import type { ChannelRecord } from '../store/types.js';
import type { Clock } from './clock.js';

/** What the channel service lends every channel's engine context (one object for all channels). */
export interface EngineHost {
  clock: Clock;
  proxyOf(record: ChannelRecord): { url: string; pooled: boolean };
  checkProxy?: (url: string, pooled: boolean) => Promise<string>;
  onProxyError?: (channelId: string, detail: string) => void;
  getCredentials(channelId: string, keys: string[]): Promise<Record<string, string>>;
  setCredentials(channelId: string, entries: Record<string, string | null>, fence: Fence | undefined): Promise<void>;
  wipeCredentials(channelId: string, fence: Fence | undefined): Promise<void>;
}

/**
 * A channel's engine context and credential store in one object of methods. Ten thousand
 * channels each holding eight small closures cost more than 2 KB a channel under tsx (every
 * named closure gets its own property dictionary); methods live once, on the prototype.
 */
export class ChannelEngineContext implements EngineContext, CredentialStore {
  readonly credentials: CredentialStore = this;

  constructor(
    private readonly host: EngineHost,
    private readonly record: ChannelRecord,
    private readonly fence: Fence | undefined,
  ) {}

  get channelId(): string {
    return this.record.id;
  }

  get clock(): Clock {
    return this.host.clock;
  }

  get options(): Record<string, unknown> {
    return this.record.engineOptions;
  }

  proxy(): string {
    return this.host.proxyOf(this.record).url;
  }

  async dialProxy(): Promise<string> {
    const { url, pooled } = this.host.proxyOf(this.record);
    return url && this.host.checkProxy ? this.host.checkProxy(url, pooled) : url;
  }

  onProxyError(detail: string): void {
    this.host.onProxyError?.(this.record.id, detail);
  }

  get(keys: string[]): Promise<Record<string, string>> {
    return this.host.getCredentials(this.record.id, keys);
  }

  set(entries: Record<string, string | null>): Promise<void> {
    return this.host.setCredentials(this.record.id, entries, this.fence);
  }

  wipe(): Promise<void> {
    return this.host.wipeCredentials(this.record.id, this.fence);
  }
}
