import { BufferJSON, initAuthCreds, proto } from 'baileys';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CREDS_KEY, encode, keyName, loadAuth, SYNC_FAILED_KEY } from './auth-state.js';
import { CredentialWriter } from './credential-writer.js';
import { linkedCreds, MemoryCredentials } from './testing.js';

const logger = pino({ level: 'silent' });

async function setup(stored: Record<string, string> = {}): Promise<{ store: MemoryCredentials; writer: CredentialWriter }> {
  const store = new MemoryCredentials();
  for (const [k, v] of Object.entries(stored)) store.data.set(k, v);
  return { store, writer: new CredentialWriter(store) };
}

describe('loadAuth', () => {
  it('starts from fresh creds, clearing leftovers, when no account is stored', async () => {
    const { store, writer } = await setup({ 'key:session:old': '"x"' });
    const auth = await loadAuth(writer, { logger });
    expect(auth.fresh).toBe(true);
    expect(store.wipes).toBe(1);
    expect(store.data.size).toBe(0);
    expect(auth.state.creds.me).toBeUndefined();
    expect(auth.state.creds.registered).toBe(false);
    expect(auth.state.creds.noiseKey.private).toHaveLength(32);
  });

  it('makes new keys for each fresh start (a new pairing round after a logout)', async () => {
    const { writer } = await setup();
    const first = await loadAuth(writer, { logger });
    const second = await loadAuth(writer, { logger });
    expect(Buffer.from(first.state.creds.noiseKey.private).equals(Buffer.from(second.state.creds.noiseKey.private))).toBe(false);
  });

  it('loads a linked account\'s creds byte for byte', async () => {
    const creds = linkedCreds();
    const { store, writer } = await setup({ [CREDS_KEY]: encode(creds) });
    const auth = await loadAuth(writer, { logger });
    expect(auth.fresh).toBe(false);
    expect(store.wipes).toBe(0);
    expect(JSON.stringify(auth.state.creds, BufferJSON.replacer)).toBe(JSON.stringify(creds, BufferJSON.replacer));
    expect(Buffer.isBuffer(auth.state.creds.signedIdentityKey.private)).toBe(true);
  });

  it('discards an unconfirmed pairing-code request (me without an account)', async () => {
    const half = { ...initAuthCreds(), me: { id: '15551234567@s.whatsapp.net', name: '~' }, pairingCode: 'ABCD1234' };
    const { store, writer } = await setup({ [CREDS_KEY]: encode(half), [SYNC_FAILED_KEY]: '1' });
    const auth = await loadAuth(writer, { logger });
    expect(auth.fresh).toBe(true);
    expect(auth.syncFailed).toBe(false);
    expect(auth.state.creds.me).toBeUndefined();
    expect(store.data.size).toBe(0);
  });

  it('refuses unreadable creds with a message that names the cure', async () => {
    const { writer } = await setup({ [CREDS_KEY]: '{not json' });
    await expect(loadAuth(writer, { logger })).rejects.toThrow(/unreadable.*logout and pair again/);
  });

  it('saves the creds as they stand on creds.update', async () => {
    const { store, writer } = await setup();
    const auth = await loadAuth(writer, { logger });
    Object.assign(auth.state.creds, { me: { id: '15551234567:7@s.whatsapp.net' }, routingInfo: Buffer.from([5, 6]) });
    await auth.saveCreds();
    const saved = JSON.parse(store.data.get(CREDS_KEY) as string, BufferJSON.reviver) as typeof auth.state.creds;
    expect(saved.me?.id).toBe('15551234567:7@s.whatsapp.net');
    expect(saved.routingInfo).toStrictEqual(Buffer.from([5, 6]));
  });

  it('records and clears the failed-sync mark', async () => {
    const { writer } = await setup({ [CREDS_KEY]: encode(linkedCreds()) });
    const auth = await loadAuth(writer, { logger });
    expect(auth.syncFailed).toBe(false);
    await auth.setSyncFailed(true);
    expect((await loadAuth(writer, { logger })).syncFailed).toBe(true);
    await auth.setSyncFailed(false);
    expect((await loadAuth(writer, { logger })).syncFailed).toBe(false);
  });
});

describe('signal keys over the credential store', () => {
  it('writes a set of many keys as one store call, key:<type>:<id>, null deleting', async () => {
    const { store, writer } = await setup({ [CREDS_KEY]: encode(linkedCreds()) });
    const auth = await loadAuth(writer, { logger, cacheSize: 0 });
    store.setCalls.length = 0;
    await auth.state.keys.set({
      'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) }, '2': null },
      session: { '15551234567.0': Buffer.from([1, 2, 3]) },
    });
    expect(store.setCalls).toHaveLength(1);
    expect(Object.keys(store.setCalls[0] ?? {}).sort()).toStrictEqual(['key:pre-key:1', 'key:pre-key:2', 'key:session:15551234567.0']);
    expect(store.setCalls[0]?.['key:pre-key:2']).toBeNull();
    expect(keyName('session', 'a:b')).toBe('key:session:a:b');
  });

  it('answers only the keys that exist, decoded, app state keys as protobuf objects', async () => {
    const { writer } = await setup({ [CREDS_KEY]: encode(linkedCreds()) });
    const auth = await loadAuth(writer, { logger, cacheSize: 0 });
    const syncKey = proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.alloc(32, 4), timestamp: 1_700_000_000 });
    await auth.state.keys.set({ 'app-state-sync-key': { AAAA: syncKey }, session: { s1: Buffer.from([9]) } });
    const sessions = await auth.state.keys.get('session', ['s1', 'missing']);
    expect(sessions).toStrictEqual({ s1: Buffer.from([9]) });
    const keys = await auth.state.keys.get('app-state-sync-key', ['AAAA']);
    expect(keys.AAAA).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(keys.AAAA?.keyData ?? [])).toStrictEqual(Buffer.alloc(32, 4));
  });

  it('serves repeated reads from its cache and writes through it', async () => {
    const { store, writer } = await setup({ [CREDS_KEY]: encode(linkedCreds()) });
    const auth = await loadAuth(writer, { logger });
    await auth.state.keys.set({ session: { s1: Buffer.from([1]) } });
    store.data.delete('key:session:s1');
    expect(await auth.state.keys.get('session', ['s1'])).toStrictEqual({ s1: Buffer.from([1]) });
  });

  it('drops the writes a connection makes after its end, once earlier ones are committed', async () => {
    const { store, writer } = await setup({ [CREDS_KEY]: encode(linkedCreds()) });
    store.setDelay = () => 3;
    const auth = await loadAuth(writer, { logger, cacheSize: 0 });
    const before = auth.state.keys.set({ session: { early: Buffer.from([1]) } });
    await auth.end();
    expect(store.data.has('key:session:early')).toBe(true);
    await auth.state.keys.set({ session: { late: Buffer.from([2]) } });
    await auth.saveCreds();
    await before;
    await writer.idle();
    expect(store.data.has('key:session:late')).toBe(false);
  });
});
