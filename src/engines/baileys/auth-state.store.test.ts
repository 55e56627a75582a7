import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet, type SignalDataTypeMap } from 'baileys';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestSchema, postgresForTests, type TestSchema } from '../../store/postgres/testing.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { keyName, loadAuth, type ChannelAuth } from './auth-state.js';
import { CredentialWriter } from './credential-writer.js';
import { createTestChannel, storeCredentials } from './testing.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const schemas: TestSchema[] = [];
let serial = 0;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wagate-baileys-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(schemas.map((s) => s.drop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const pg = await postgresForTests();
const kinds: Array<[string, (() => Promise<Store>) | null]> = [
  ['sqlite', () => openStore({ dataDir: tempDir() })],
  [
    'postgres',
    pg
      ? async () => {
          const schema = await createTestSchema(pg.url);
          schemas.push(schema);
          return openStore({ databaseUrl: pg.url, dataDir: tempDir(), pgSchema: schema.schema });
        }
      : null,
  ],
];

/** A fresh channel's auth state over a real store; `reload()` reads it back as a new connection would. */
async function channelAuth(open: () => Promise<Store>, cacheSize?: number): Promise<{ store: Store; auth: ChannelAuth; reload(): Promise<ChannelAuth> }> {
  const store = await open();
  const id = await createTestChannel(store, `BAIL-${String(++serial).padStart(5, '0')}`);
  const auth = await loadAuth(new CredentialWriter(storeCredentials(store, id)), { logger, cacheSize });
  return { store, auth, reload: () => loadAuth(new CredentialWriter(storeCredentials(store, id)), { logger, cacheSize: 0 }) };
}

/** Every value with its bytes spelled out, so that Buffer vs Uint8Array and byte changes all show. */
function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) => [k, canonical(obj[k])]));
  }
  return value;
}

function sampleKeys(): SignalDataSet {
  return {
    'pre-key': { '1': { public: randomBytes(33), private: randomBytes(32) }, '2': { public: new Uint8Array(randomBytes(33)), private: new Uint8Array(randomBytes(32)) } },
    session: { '15557654321.0': new Uint8Array(randomBytes(300)), '99887766_1.3': randomBytes(120) },
    'sender-key': { '120363000000000001@g.us::15557654321::0': randomBytes(150) },
    'sender-key-memory': { '120363000000000001@g.us': { '15557654321:3@s.whatsapp.net': true, '15550001111@s.whatsapp.net': false } },
    'app-state-sync-key': {
      AAAAAEKm: proto.Message.AppStateSyncKeyData.fromObject({ keyData: randomBytes(32), fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 7] }, timestamp: 1_767_225_600_123 }),
    },
    'app-state-sync-version': { regular_high: { version: 12, hash: randomBytes(128), indexValueMap: { '1aGVsbG8=': { valueMac: randomBytes(32) } } } },
    'lid-mapping': { '15557654321': '99887766', '99887766_reverse': '15557654321' },
    'device-list': { '15557654321': ['0', '3'] },
    tctoken: { '15557654321@s.whatsapp.net': { token: randomBytes(24), timestamp: '1767225600' } },
    'identity-key': { '15557654321.0': new Uint8Array(randomBytes(33)) },
  };
}

function linkedCreds(): AuthenticationCreds {
  return {
    ...initAuthCreds(),
    me: { id: '15551234567:7@s.whatsapp.net', name: 'Ann', lid: '99887700:7@lid' },
    account: { details: randomBytes(60), accountSignatureKey: randomBytes(32), accountSignature: randomBytes(64), deviceSignature: randomBytes(64) },
    signalIdentities: [{ identifier: { name: '15551234567:7@s.whatsapp.net', deviceId: 0 }, identifierKey: randomBytes(33) }],
    routingInfo: randomBytes(12),
    processedHistoryMessages: [{ key: { remoteJid: '15557654321@s.whatsapp.net', id: 'H1', fromMe: false }, messageTimestamp: 1_767_225_600 }],
    accountSyncCounter: 1,
    platform: 'android',
  };
}

for (const [kind, open] of kinds) {
  const suite = open ? describe : describe.skip;
  suite(`baileys auth state on the ${kind} store${open ? '' : ' (no server)'}`, () => {
    const openStore = open as () => Promise<Store>;

    it('round-trips creds and every kind of signal key byte for byte', async () => {
      const { store, auth, reload } = await channelAuth(openStore, 0);
      const creds = linkedCreds();
      Object.assign(auth.state.creds, creds);
      await auth.saveCreds();
      const keys = sampleKeys();
      await auth.state.keys.set(keys);
      const again = await reload();
      expect(again.fresh).toBe(false);
      expect(canonical(again.state.creds)).toStrictEqual(canonical(creds));
      for (const [type, entries] of Object.entries(keys) as Array<[keyof SignalDataTypeMap, Record<string, unknown>]>) {
        const loaded = await again.state.keys.get(type, Object.keys(entries));
        if (type === 'app-state-sync-key') {
          for (const [id, value] of Object.entries(entries)) {
            const bytes = (v: unknown): string => Buffer.from(proto.Message.AppStateSyncKeyData.encode(v as proto.Message.IAppStateSyncKeyData).finish()).toString('hex');
            expect(bytes(loaded[id])).toBe(bytes(value));
          }
        } else {
          expect(canonical(loaded)).toStrictEqual(canonical(entries));
        }
      }
      await store.close();
    });

    it.each([
      ['without a cache', 0],
      ['through the signal-key cache', undefined],
    ])('keeps all of 1,000 concurrent keys.set writes %s', async (_name, cacheSize) => {
      const { store, auth, reload } = await channelAuth(openStore, cacheSize);
      Object.assign(auth.state.creds, linkedCreds());
      await auth.saveCreds();
      const ids = Array.from({ length: 1000 }, (_, i) => String(i + 1));
      const values = ids.map(() => ({ public: randomBytes(33), private: randomBytes(32) }));
      await Promise.all(ids.map((id, i) => auth.state.keys.set({ 'pre-key': { [id]: values[i] ?? null }, session: { shared: Buffer.from(id) } })));
      const loaded = await (await reload()).state.keys.get('pre-key', ids);
      expect(Object.keys(loaded)).toHaveLength(1000);
      ids.forEach((id, i) => expect(canonical(loaded[id])).toStrictEqual(canonical(values[i])));
      const { shared } = await (await reload()).state.keys.get('session', ['shared']);
      expect(Buffer.from(shared ?? []).toString()).toBe('1000');
      await store.close();
    });

    it('deletes keys set to null and leaves others alone', async () => {
      const { store, auth, reload } = await channelAuth(openStore, 0);
      Object.assign(auth.state.creds, linkedCreds());
      await auth.saveCreds();
      await auth.state.keys.set({ session: { a: Buffer.from([1]), b: Buffer.from([2]) } });
      await auth.state.keys.set({ session: { a: null } });
      expect(await (await reload()).state.keys.get('session', ['a', 'b'])).toStrictEqual({ b: Buffer.from([2]) });
      await store.close();
    });
  });
}

describe('baileys auth state after a SIGKILL', () => {
  it('leaves a loadable state: whole batches, every acknowledged key, every key parsing', async () => {
    const dataDir = tempDir();
    const channelId = 'KILL-00001';
    const script = join(import.meta.dirname, 'kill-writer.script.ts');
    const child = spawn(process.execPath, ['--conditions=@wagate/source', '--import', 'tsx', script, dataDir, channelId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const acknowledged = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const counts = [...out.matchAll(/committed (\d+)\n/g)].map((m) => Number(m[1]));
        const last = counts.at(-1) ?? 0;
        // Kill in the middle of the writing, some way in.
        if (last >= 400) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
      void exited.then(() => reject(new Error(`the writer exited on its own:\n${err}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const store = await openStore({ dataDir });
    try {
      const auth = await loadAuth(new CredentialWriter(storeCredentials(store, channelId)), { logger, cacheSize: 0 });
      expect(auth.fresh).toBe(false);
      expect(auth.state.creds.me?.id).toBe('15551234567:7@s.whatsapp.net');
      expect(auth.state.creds.nextPreKeyId).toBeGreaterThan(acknowledged);
      const ids = Array.from({ length: acknowledged + 2_000 }, (_, i) => String(i + 1));
      const raw = await store.getCredentials(channelId, ids.map((id) => keyName('pre-key', id)));
      const present = Object.keys(raw).length;
      expect(present).toBeGreaterThanOrEqual(acknowledged);
      expect(present % 10).toBe(0);
      const keys = await auth.state.keys.get('pre-key', ids);
      expect(Object.keys(keys)).toHaveLength(present);
      for (const id of ids.slice(0, present)) {
        expect(Buffer.isBuffer(keys[id]?.private)).toBe(true);
        expect(keys[id]?.private).toHaveLength(32);
      }
      const { rolling } = await auth.state.keys.get('session', ['rolling']);
      expect(rolling).toHaveLength(64);
    } finally {
      await store.close();
    }
  });
});
