import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import type { Call } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { pairedChannel, RECIPIENT } from '../messages/channel.js';
import { fakeImage, fileServer } from './fixtures.js';

// A media URL is fetched by the gateway through the webhooks' SSRF guard (SPEC §5, §6). Only
// loopback servers run here: a metadata or private address must be refused before any connect.

const responseError = whapiValidator('ResponseError');

async function refused(gate: Call, media: string, details: string): Promise<void> {
  const before = (await gate('GET', '/sandbox/sent')).body.total as number;
  const res = await gate('POST', '/messages/image', { to: RECIPIENT, media });
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(responseError(res.body)).toBe(true);
  expect(res.body.error.details).toContain(details);
  expect((await gate('GET', '/sandbox/sent')).body.total).toBe(before);
}

describe('media URLs with private targets allowed (the default)', () => {
  let gw: TestGateway;
  let gate: Call;
  let files: Awaited<ReturnType<typeof fileServer>>;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { WAGATE_MEDIA_MAX_BYTES: '20000', WAGATE_MEDIA_FETCH_TIMEOUT_MS: '2000' } });
    ({ gate } = await pairedChannel(gw.createChannel));
    files = await fileServer(fakeImage(30_000));
  });
  afterAll(async () => {
    await files?.close();
    await gw?.close();
  });

  it('refuses the metadata address and link-local ones, without connecting', async () => {
    await refused(gate, 'http://169.254.169.254/latest/meta-data/', 'metadata service');
    await refused(gate, 'http://[fd00:ec2::254]/latest', 'metadata');
    await refused(gate, 'http://[::ffff:169.254.169.254]/x', 'metadata');
  });

  it('refuses a redirect to the metadata address, after the first hop only', async () => {
    const hits = files.hits.length;
    await refused(gate, `${files.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`, 'metadata service');
    expect(files.hits.slice(hits)).toEqual([`/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`]);
  });

  it('refuses a body over WAGATE_MEDIA_MAX_BYTES, and other schemes', async () => {
    await refused(gate, `${files.url}/file/big.png`, 'WAGATE_MEDIA_MAX_BYTES');
    await refused(gate, 'file:///etc/passwd', 'data: URL');
    await refused(gate, `${files.url}/missing`, 'HTTP 404');
  });
});

describe('media URLs under WAGATE_WEBHOOK_PRIVATE=deny', () => {
  let gw: TestGateway;
  let gate: Call;
  let files: Awaited<ReturnType<typeof fileServer>>;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { WAGATE_WEBHOOK_PRIVATE: 'deny' } });
    ({ gate } = await pairedChannel(gw.createChannel));
    files = await fileServer(fakeImage(1000));
  });
  afterAll(async () => {
    await files?.close();
    await gw?.close();
  });

  it('refuses loopback and private addresses, by literal IP and by name, without connecting', async () => {
    const port = new URL(files.url).port;
    await refused(gate, `${files.url}/file/a.png`, 'loopback');
    await refused(gate, `http://localhost:${port}/file/a.png`, 'loopback');
    await refused(gate, 'http://10.0.0.7/file.png', 'private');
    await refused(gate, 'http://192.168.1.1/file.png', 'private');
    expect(files.hits).toEqual([]);
  });
});
