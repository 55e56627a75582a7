/**
 * A child process for auth-state.store.test.ts: it writes Baileys creds and signal keys to a
 * SQLite store in a loop, printing each committed batch, until the test kills it with SIGKILL.
 * Usage: node --conditions=@wagate/source --import tsx kill-writer.script.ts <dataDir> <channelId>
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { openStore } from '../../store/index.js';
import { loadAuth } from './auth-state.js';
import { CredentialWriter } from './credential-writer.js';
import { createTestChannel, storeCredentials } from './testing.js';

/** Pre-keys per `keys.set` call; the test checks that batches land whole. */
const BATCH = 10;

const [dataDir, channelId] = process.argv.slice(2);
if (!dataDir || !channelId) throw new Error('usage: kill-writer.script.ts <dataDir> <channelId>');

const store = await openStore({ dataDir });
await createTestChannel(store, channelId);
const writer = new CredentialWriter(storeCredentials(store, channelId));
const auth = await loadAuth(writer, { logger: pino({ level: 'silent' }), cacheSize: 0 });
Object.assign(auth.state.creds, {
  me: { id: '15551234567:7@s.whatsapp.net', name: 'Kill' },
  account: { details: randomBytes(40), accountSignatureKey: randomBytes(32), accountSignature: randomBytes(64), deviceSignature: randomBytes(64) },
});
await auth.saveCreds();

const keyPair = (): { public: Buffer; private: Buffer } => ({ public: randomBytes(33), private: randomBytes(32) });

for (let round = 0; ; round++) {
  // Four batches at once, as Baileys' transactions commit concurrently, plus creds and a rolling session.
  const batches = [0, 1, 2, 3].map((b) => {
    const first = (round * 4 + b) * BATCH + 1;
    const ids = Array.from({ length: BATCH }, (_, i) => String(first + i));
    return auth.state.keys.set({ 'pre-key': Object.fromEntries(ids.map((id) => [id, keyPair()])), session: { rolling: randomBytes(64) } });
  });
  auth.state.creds.nextPreKeyId = (round + 1) * 4 * BATCH + 1;
  await Promise.all([...batches, auth.saveCreds()]);
  process.stdout.write(`committed ${(round + 1) * 4 * BATCH}\n`);
}
