import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
  type SocketConfig,
} from 'baileys';
import type { CredentialWriter } from './credential-writer.js';
import { lruCacheStore } from './lru.js';

/** The store key of Baileys' `AuthenticationCreds`. */
export const CREDS_KEY = 'creds';
/** Set while the initial history sync with the phone is known to have failed (see sync-watch.ts). */
export const SYNC_FAILED_KEY = 'wagate:sync_failed';

/** The store key of one signal key: `key:<type>:<id>`. */
export function keyName(type: keyof SignalDataTypeMap, id: string): string {
  return `key:${type}:${id}`;
}

/** A value as stored: JSON with Buffers and Uint8Arrays as base64, by Baileys' own BufferJSON. */
export function encode(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

export function decode<T>(raw: string): T {
  return JSON.parse(raw, BufferJSON.reviver) as T;
}

/** The logger Baileys takes (pino's shape). */
export type BaileysLogger = SocketConfig['logger'];

export interface AuthOptions {
  logger: BaileysLogger;
  /** Signal keys cached in memory for this connection (0: no cache). */
  cacheSize?: number;
}

/** One connection's view of the channel's credentials. */
export interface ChannelAuth {
  /** What `makeWASocket` takes as `auth`. */
  state: AuthenticationState;
  /** Whether these creds were just made (no linked account stored). */
  fresh: boolean;
  /** Whether a failed initial sync is on record (loaded with the creds, kept up to date by setSyncFailed). */
  syncFailed: boolean;
  /** Writes the current creds (on Baileys' `creds.update`). */
  saveCreds(): Promise<void>;
  /** Records or clears the failed-sync mark. */
  setSyncFailed(failed: boolean): Promise<void>;
  /**
   * Ends this connection's writes: later ones are dropped, so nothing it does after its end can
   * land after a credential wipe; resolves once every earlier write is committed.
   */
  end(): Promise<void>;
}

/**
 * Loads the channel's creds and signal keys from the credential store. With no linked account
 * stored (never paired, wiped after a logout, or a pairing-code request that was never
 * confirmed), it clears whatever is left and starts from fresh creds (`initAuthCreds()`).
 */
export async function loadAuth(writer: CredentialWriter, opts: AuthOptions): Promise<ChannelAuth> {
  await writer.idle();
  const stored = await writer.read([CREDS_KEY, SYNC_FAILED_KEY]);
  const raw = stored[CREDS_KEY];
  let creds = raw === undefined ? null : decodeCreds(raw);
  const fresh = !creds?.me || !creds.account;
  if (fresh) {
    await writer.wipe();
    creds = initAuthCreds();
  }
  let ended = false;
  const write = (entries: Record<string, string | null>): Promise<void> => (ended ? Promise.resolve() : writer.write(entries));
  const keys = signalKeyStore(writer, write);
  const cacheSize = opts.cacheSize ?? 5_000;
  const state: AuthenticationState = {
    creds: creds as AuthenticationCreds,
    keys: cacheSize > 0 ? makeCacheableSignalKeyStore(keys, opts.logger, lruCacheStore(cacheSize)) : keys,
  };
  const auth: ChannelAuth = {
    state,
    fresh,
    syncFailed: !fresh && stored[SYNC_FAILED_KEY] !== undefined,
    saveCreds: () => write({ [CREDS_KEY]: encode(state.creds) }),
    setSyncFailed: (failed) => {
      auth.syncFailed = failed;
      return write({ [SYNC_FAILED_KEY]: failed ? '1' : null });
    },
    end: async () => {
      ended = true;
      await writer.idle();
    },
  };
  return auth;
}

function decodeCreds(raw: string): AuthenticationCreds {
  try {
    return decode<AuthenticationCreds>(raw);
  } catch (err) {
    throw new Error(`the stored credentials are unreadable (${(err as Error).message}); logout and pair again`);
  }
}

/** Baileys' `SignalKeyStore` over the credential store: one key per signal key, one write per `set`. */
export function signalKeyStore(writer: CredentialWriter, write: (entries: Record<string, string | null>) => Promise<void>): SignalKeyStore {
  return {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const names = ids.map((id) => keyName(type, id));
      const found = await writer.read(names);
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      ids.forEach((id, i) => {
        const raw = found[names[i] as string];
        if (raw === undefined) return;
        const value = decode<SignalDataTypeMap[T]>(raw);
        out[id] = type === 'app-state-sync-key' ? (proto.Message.AppStateSyncKeyData.fromObject(value as object) as unknown as SignalDataTypeMap[T]) : value;
      });
      return out;
    },
    async set(data: SignalDataSet) {
      const entries: Record<string, string | null> = {};
      for (const type of Object.keys(data) as Array<keyof SignalDataTypeMap>) {
        for (const [id, value] of Object.entries(data[type] ?? {})) {
          entries[keyName(type, id)] = value === null || value === undefined ? null : encode(value);
        }
      }
      await write(entries);
    },
  };
}
