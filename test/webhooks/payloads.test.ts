import type { ValidateFunction } from 'ajv';
import { expect, it } from 'vitest';
import { until } from '../support/http.js';
import { whapiValidator } from '../support/whapi.js';
import { closeAfterEach, eventOf, events, FAST, gateway, LIFECYCLE_EVENTS, reach, receiver, statusOf, virtualClock } from './harness.js';

// SPEC §5 events: `channel.post` carries Whapi's Health, `channel.patch` Whapi's QR, inside the
// envelope `{..., event: {type, event}, channel_id}`.

closeAfterEach();

const health = whapiValidator('Health');
// SPEC §1: STOP is missing from Whapi's ChannelStatus enum; a STOP health is checked with it added.
const healthWithStop = whapiValidator('Health', { extraStatusTexts: ['STOP'] });
const qr = whapiValidator('QR');
const USER = { id: '61371989950', name: 'Jonathan' };

function expectValid(validate: ValidateFunction, body: unknown): void {
  expect(validate(body), `${JSON.stringify(body)}\n${JSON.stringify(validate.errors, null, 1)}`).toBe(true);
}

/** A channel that goes QR → AUTH → ERROR (forbidden) → STOP, with every lifecycle event sent to one receiver. */
async function eventfulChannel() {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [{ url: `${r.url}/hook`, events: events(...LIFECYCLE_EVENTS) }] } });
  await reach(ch.gate, 'QR', clock);
  expect((await ch.gate('POST', '/sandbox/scan', { user: USER })).status).toBe(200);
  expect((await ch.gate('POST', '/sandbox/fail', { reason: 'forbidden' })).status).toBe(200);
  await reach(ch.gate, 'ERROR');
  expect((await gw.partner('POST', `/partner/channels/${ch.id}/stop`)).status).toBe(200);
  await until(() => r.received.some((x) => statusOf(x) === 'STOP'), 'STOP at the receiver');
  return { ch, r, gw };
}

it("sends channel.post with a Health that validates against Whapi's schema in every status", async () => {
  const { ch, r } = await eventfulChannel();
  const posts = r.received.filter((x) => eventOf(x) === 'channel.post');
  expect(posts.map(statusOf)).toEqual(['INIT', 'LAUNCH', 'QR', 'AUTH', 'ERROR', 'STOP']);
  for (const post of posts) {
    expect(Object.keys(post.json).sort()).toEqual(['channel_id', 'event', 'health']);
    expect(post.json.event).toEqual({ type: 'channel', event: 'post' });
    expect(post.json.channel_id).toBe(ch.id);
    expect((post.json.health as { channel_id: string }).channel_id).toBe(ch.id);
    expectValid(statusOf(post) === 'STOP' ? healthWithStop : health, post.json.health);
  }
  const codes = posts.map((p) => (p.json.health as { status: { code: number } }).status.code);
  expect(codes).toEqual([1, 2, 3, 4, 5, 7]);
  const auth = posts.find((p) => statusOf(p) === 'AUTH')!;
  expect((auth.json.health as { user?: unknown }).user).toEqual(USER);
});

it("sends channel.patch with a QR that validates against Whapi's schema", async () => {
  const { ch, r } = await eventfulChannel();
  const patches = r.received.filter((x) => eventOf(x) === 'channel.patch');
  expect(patches.length).toBeGreaterThanOrEqual(1);
  for (const patch of patches) {
    expect(Object.keys(patch.json).sort()).toEqual(['channel_id', 'event', 'qr']);
    expect(patch.json.event).toEqual({ type: 'channel', event: 'patch' });
    expect(patch.json.channel_id).toBe(ch.id);
    expectValid(qr, patch.json.qr);
    expect(patch.json.qr).toMatchObject({ status: 'OK', rowdata: expect.any(String), expire: expect.any(Number) });
  }
});

it('sends users.post and users.delete with the linked user', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [{ url: `${r.url}/hook`, events: events('users.post', 'users.delete') }] } });
  await reach(ch.gate, 'QR', clock);
  expect((await ch.gate('POST', '/sandbox/scan', { user: USER })).status).toBe(200);
  expect((await ch.gate('POST', '/sandbox/unlink')).status).toBe(200);
  await until(() => r.received.length >= 2, 'users.post and users.delete');
  expect(r.received.map((x) => x.json)).toEqual([
    { user: USER, event: { type: 'users', event: 'post' }, channel_id: ch.id },
    { user: USER, event: { type: 'users', event: 'delete' }, channel_id: ch.id },
  ]);
});

// SPEC §5 says channel.patch carries "the QR object", and §3 defines that object with the
// `base64` image (Whapi's QR schema: "Sent on event channels.patch"). A receiver that shows the
// QR to a user needs the image, as GET /users/login gives it.
it('sends channel.patch with the QR image in base64, as GET /users/login answers it', async () => {
  const clock = virtualClock();
  const gw = await gateway({ clock });
  const r = await receiver();
  const ch = await gw.createChannel({ sandbox: FAST, settings: { webhooks: [{ url: `${r.url}/hook`, events: events('channel.patch') }] } });
  await reach(ch.gate, 'QR', clock);
  await until(() => r.received.length >= 1, 'channel.patch');
  const login = await ch.gate('GET', '/users/login');
  const sent = r.received[0]!.json.qr as Record<string, unknown>;
  expect(sent.rowdata).toBe(login.body.rowdata);
  expect(Object.keys(sent), 'the qr object of channel.patch').toContain('base64');
  expect(sent.base64).toMatch(/^data:image\/png;base64,/);
  expect(sent.base64).toBe(login.body.base64);
});
