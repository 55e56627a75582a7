/**
 * `npm run bench:baileys-media`: 1 MB images through the real Baileys client and the WhatsApp Web
 * emulator (test/emulator), on loopback. Sends of an uploaded image (Baileys encrypts it to a
 * temporary file and uploads it over HTTPS to the emulated media host) beside a baseline measured
 * in the same run: text sends on the same channel. Every image is checked at the recipient's
 * emulated phone, decrypted byte for byte. Then inbound: images from a contact's phone,
 * downloaded, checked and stored by the gateway, timed from delivery to `GET /messages/{id}`.
 */
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { MEDIA_HOST_PEM } from '../test/emulator/media-host.js';
import { mediaMessage } from '../test/emulator/phone-media.js';
import { startTrustedEmulator } from '../test/emulator/harness.js';
import { fakeImage } from '../test/media/fixtures.js';
import { until as untilIn } from '../test/support/http.js';
import { tempDataDir } from '../test/support/process.js';
import { percentile, timeRequests } from './stats.js';

const FILE_BYTES = 1_048_576;
const COUNT = Number(process.env.BENCH_BAILEYS_MEDIA_COUNT ?? 20);
const RECIPIENT = '61400111222';
const ADMIN = 'bench-admin-token-0123456789';

const until = (probe: () => Promise<boolean> | boolean, what: string): Promise<void> => untilIn(probe, what, 20_000, 10);

async function main(): Promise<void> {
  // libsignal logs every session it opens.
  console.info = () => undefined;
  const emulator = await startTrustedEmulator();
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-bmedia-'), WAGATE_ADMIN_TOKEN: ADMIN, WAGATE_LOG_LEVEL: 'error', WAGATE_BAILEYS_WS_URL: emulator.url, WAGATE_BAILEYS_MEDIA_CA: MEDIA_HOST_PEM }),
  );
  const base = gateway.url;
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const created = (await (await fetch(`${base}/partner/channels`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'bench', engine: 'baileys', baileys: { sync_timeout_ms: 3_600_000 } }) })).json()) as { token: string };
  const auth = { authorization: `Bearer ${created.token}` };
  const json = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, { method, headers: { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const status = async () => ((await (await json('GET', '/health?wakeup=false')).json()) as { status: { text: string } }).status.text;
  await until(async () => (await status()) === 'QR', 'QR');
  emulator.scan(((await (await json('GET', '/users/login')).json()) as { rowdata: string }).rowdata);
  await until(async () => (await status()) === 'AUTH', 'AUTH');

  const image = fakeImage(FILE_BYTES);
  const upload = await fetch(`${base}/media`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: image });
  const mediaId = ((await upload.json()) as { media: Array<{ id: string }> }).media[0]!.id;

  /** `COUNT` sends one after another. */
  const measure = (name: string, one: (i: number) => Promise<Response>) => timeRequests(name, COUNT, 1, one);

  const text = await measure('text send (baseline)', (i) => json('POST', '/messages/text', { to: RECIPIENT, body: `bench ${i}` }));
  const sends = await measure('send 1 MB image by uploaded id', () => json('POST', '/messages/image', { to: RECIPIENT, media: mediaId }));
  await until(() => emulator.messages.filter((m) => m.media).length === COUNT, 'the phone decrypted every image');
  const intact = emulator.messages.filter((m) => m.media?.bytes.equals(image)).length;

  // Inbound: a contact's phone sends COUNT images; each is timed until the gateway recorded it.
  const inbound: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const t = performance.now();
    const id = await emulator.deliver('61400333444', mediaMessage(emulator.media, { kind: 'image', bytes: image, mimetype: 'image/png' }));
    await until(async () => (await json('GET', `/messages/${id}`)).status === 200, `inbound ${id}`);
    inbound.push(performance.now() - t);
  }
  inbound.sort((a, b) => a - b);

  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(`\n1 MB images through Baileys and the emulator, ${COUNT} of each, one at a time (${process.platform}, node ${process.version})\n`);
  console.log('| what | per second | p50 | p99 | p50 vs text |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of [text, sends]) console.log(`| ${r.name} | ${r.perSecond.toFixed(1)} | ${ms(r.p50)} | ${ms(r.p99)} | ×${(r.p50 / text.p50).toFixed(1)} |`);
  console.log(`| inbound 1 MB image, delivered to recorded | ${(1000 / (inbound.reduce((a, b) => a + b, 0) / COUNT)).toFixed(1)} | ${ms(percentile(inbound, 50))} | ${ms(percentile(inbound, 99))} | ×${(percentile(inbound, 50) / text.p50).toFixed(1)} |`);
  console.log(`\nimages decrypted byte for byte at the phone: ${intact}/${COUNT}; uploads ${emulator.media.uploads.length}, gateway downloads ${emulator.media.downloads.length}`);
  await gateway.close();
  await emulator.close();
  if (intact !== COUNT) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
