/**
 * `npm run bench:media`: 1 MB images through the sandbox. Upload (`POST /media`, the file as the
 * body) and send (`POST /messages/image` by uploaded id and by data: URL) throughput and latency,
 * beside a baseline measured in the same run: text sends on the same channel. Then the memory a
 * media send holds while in flight: sends parked in the send hold during a sandbox blip.
 */
import { loadConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import { fakeImage } from '../test/media/fixtures.js';
import { tempDataDir } from '../test/support/process.js';
import { timeRequests } from './stats.js';

const FILE_BYTES = 1_048_576;
const COUNT = Number(process.env.BENCH_MEDIA_COUNT ?? 60);
const CONCURRENCY = Number(process.env.BENCH_MEDIA_CONCURRENCY ?? 4);
const IN_FLIGHT = Number(process.env.BENCH_MEDIA_IN_FLIGHT ?? 24);

const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const gateway = await startGateway(
    loadConfig({ WAGATE_PORT: '0', WAGATE_DATA_DIR: tempDataDir('wagate-bench-media-'), WAGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789', WAGATE_LOG_LEVEL: 'error', ...(process.env.WAGATE_DATABASE_URL ? { WAGATE_DATABASE_URL: process.env.WAGATE_DATABASE_URL } : {}) }),
  );
  const base = gateway.url;
  const admin = { authorization: 'Bearer bench-admin-token-0123456789', 'content-type': 'application/json' };
  const created = (await (await fetch(`${base}/partner/channels`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'bench', engine: 'sandbox', sandbox: { init_ms: 0, launch_ms: 0, receipt_delivered_ms: null, receipt_read_ms: null } }) })).json()) as { id: string; token: string };
  const auth = { authorization: `Bearer ${created.token}` };
  const call = (method: string, path: string, body?: RequestInit['body'], headers: Record<string, string> = {}) => fetch(`${base}${path}`, { method, headers: { ...auth, ...headers }, body });
  const json = (method: string, path: string, body: unknown) => call(method, path, JSON.stringify(body), { 'content-type': 'application/json' });
  for (;;) {
    const scan = await json('POST', '/sandbox/scan', { user: { id: '61371989950', name: 'Bench' } });
    if (scan.status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }

  const image = fakeImage(FILE_BYTES);
  const dataUrl = `data:image/png;base64,${image.toString('base64')}`;

  const measure = (name: string, one: (i: number) => Promise<Response>) => timeRequests(name, COUNT, CONCURRENCY, one);

  const text = await measure('text send (baseline)', (i) => json('POST', '/messages/text', { to: '61400111222', body: `bench ${i}` }));
  const upload = await measure('upload 1 MB (POST /media)', () => call('POST', '/media', image, { 'content-type': 'image/png' }));
  const uploaded = ((await (await call('POST', '/media', image, { 'content-type': 'image/png' })).json()) as { media: Array<{ id: string }> }).media[0]!.id;
  const byId = await measure('send 1 MB image by uploaded id', () => json('POST', '/messages/image', { to: '61400111222', media: uploaded }));
  const byDataUrl = await measure('send 1 MB image as data: URL', () => json('POST', '/messages/image', { to: '61400111222', media: dataUrl }));

  // Memory per in-flight send: IN_FLIGHT sends of a 1 MB data: URL parked in the send hold.
  gc?.();
  const before = process.memoryUsage();
  const blip = await json('POST', '/sandbox/blip', { duration_ms: 4000 });
  if (blip.status !== 200) throw new Error(`blip: ${blip.status}`);
  const held = Array.from({ length: IN_FLIGHT }, () => json('POST', '/messages/image', { to: '61400111222', media: dataUrl }));
  // Every request is read, decoded and stored before it waits for AUTH: give them the time to.
  await new Promise((r) => setTimeout(r, 2500));
  gc?.();
  const during = process.memoryUsage();
  const answers = await Promise.all(held);
  for (const res of answers) if (res.status !== 200) throw new Error(`held send: HTTP ${res.status}`);
  const perSend = (key: 'heapUsed' | 'external' | 'arrayBuffers' | 'rss') => (during[key] - before[key]) / IN_FLIGHT / 1_048_576;

  const rows = [text, upload, byId, byDataUrl];
  console.log(`store: ${gateway.store.kind}; ${COUNT} requests each, ${CONCURRENCY} at a time; file ${FILE_BYTES} bytes`);
  for (const r of rows) {
    const mbps = r.name.includes('1 MB') ? `  ${((r.perSecond * FILE_BYTES) / 1_048_576).toFixed(1)} MB/s` : '';
    console.log(`${r.name.padEnd(34)} ${r.perSecond.toFixed(1).padStart(7)}/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ×${(r.perSecond / text.perSecond).toFixed(3)} of text${mbps}`);
  }
  console.log(`in flight: ${IN_FLIGHT} sends of a 1 MB data: URL held by a blip; per send: heap ${perSend('heapUsed').toFixed(2)} MB, external ${perSend('external').toFixed(2)} MB (array buffers ${perSend('arrayBuffers').toFixed(2)} MB), rss ${perSend('rss').toFixed(2)} MB${gc ? '' : ' (run with --expose-gc for settled figures)'}`);
  await gateway.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
