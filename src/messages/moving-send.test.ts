import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIET, RECIPIENT, pairedChannel, reach, statusOf } from '../../test/messages/channel.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';

// A channel that has just changed nodes starts a new run (INIT, not a reconnect), yet its sends
// wait for its first AUTH (SPEC §10). Media sends are gated before their file is fetched: that
// early gate must hold them as the send itself does, not answer 401 where a text would wait.

const PNG = `data:image/png;base64,${Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64')}`;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { WAGATE_LOG_LEVEL: 'silent' } });
});

afterAll(async () => {
  await gw?.close();
});

/** A paired channel restarted into a slow INIT (a new run, as after a lease is taken over). */
async function restartedChannel(): Promise<Awaited<ReturnType<typeof pairedChannel>>> {
  const ch = await pairedChannel(gw.createChannel, { sandbox: { ...QUIET, init_ms: 1500 } });
  expect((await gw.partner('POST', `/partner/channels/${ch.id}/restart`)).status).toBe(200);
  expect(await statusOf(ch.gate)).toBe('INIT');
  return ch;
}

describe('a media send to a channel that just changed nodes', () => {
  it('waits for its first AUTH and goes out, as a text does', async () => {
    const ch = await restartedChannel();
    gw.gateway.app.wagate.messages.expectMove(ch.id, Date.now() + 10_000);
    const res = await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: PNG });

    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ sent: true, message: { type: 'image' } });
    expect(await statusOf(ch.gate)).toBe('AUTH');
  }, 30_000);

  it('still answers 401 at once in INIT when the channel did not move', async () => {
    const ch = await restartedChannel();
    const res = await ch.gate('POST', '/messages/image', { to: RECIPIENT, media: PNG });

    expect(res.status).toBe(401);
    expect((res.body as { error: { details: string } }).error.details).toContain('INIT');
    await reach(ch.gate, 'AUTH');
  }, 30_000);
});
