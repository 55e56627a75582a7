import { describe, expect, it } from 'vitest';
import { ChannelStatusTracker, StatusTimeoutError, parseWebhook, type StatusChange, type StatusText, type WebhookEvent, type WireHealth } from '@wagate/client';
import { VirtualClock } from '../../src/channel/clock.js';
import { channelStatus } from '@wagate/protocol';

const CHANNEL = 'MANTIS-M72HC';
const START = 1_713_774_883;
const USER = { id: '61371989950', name: 'Jonathan' };

function healthOf(text: StatusText, uptime: number, startAt = START): WireHealth {
  const h: WireHealth = { channel_id: CHANNEL, start_at: startAt, uptime, version: '0.1.0', status: channelStatus(text) };
  if (text === 'AUTH') h.user = USER;
  return h;
}
const channelPost = (text: StatusText, uptime: number, startAt = START): WebhookEvent =>
  parseWebhook({ health: healthOf(text, uptime, startAt), event: { type: 'channel', event: 'post' }, channel_id: CHANNEL });
const users = (method: 'post' | 'delete'): WebhookEvent => parseWebhook({ user: USER, event: { type: 'users', event: method }, channel_id: CHANNEL });
const flappingAlert = (): WebhookEvent =>
  parseWebhook({ alert: { kind: 'flapping', detail: '3 drops out of AUTH within 15 min', at: START }, event: { type: 'alerts', event: 'post' }, channel_id: CHANNEL });

/** A `/health` that answers what the test says, counting calls. */
function fakeHealth(initial: WireHealth) {
  const source = {
    answer: initial,
    calls: [] as Array<{ wakeup?: boolean }>,
    fail: false,
    health: async (options: { wakeup?: boolean }): Promise<WireHealth> => {
      source.calls.push(options);
      if (source.fail) throw new Error('connection refused');
      return source.answer;
    },
  };
  return source;
}

function tracked(opts: ConstructorParameters<typeof ChannelStatusTracker>[0] = {}) {
  const clock = new VirtualClock();
  const tracker = new ChannelStatusTracker({ clock, ...opts });
  const changes: StatusChange[] = [];
  tracker.on('change', (c) => changes.push(c));
  return { clock, tracker, changes };
}

describe('ChannelStatusTracker', () => {
  it('follows a brief reconnect through channel.post events', () => {
    const { tracker, changes } = tracked();
    expect(tracker.status).toBeNull();
    tracker.handle(channelPost('AUTH', 10), { id: 'msg_1' });
    expect(tracker.isAuthorized).toBe(true);
    expect(tracker.user).toEqual(USER);
    tracker.handle(channelPost('INIT', 20), { id: 'msg_2' });
    expect(tracker.isAuthorized).toBe(false);
    tracker.handle(channelPost('LAUNCH', 21), { id: 'msg_3' });
    tracker.handle(channelPost('AUTH', 22), { id: 'msg_4' });
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['null->AUTH', 'AUTH->INIT', 'INIT->LAUNCH', 'LAUNCH->AUTH']);
    expect(changes.every((c) => c.source === 'webhook')).toBe(true);
  });

  it("ignores duplicates and events older than one already applied, by wagate's webhook-id sequence", () => {
    const { tracker } = tracked();
    tracker.handle(channelPost('INIT', 20), { id: 'msg_10' });
    tracker.handle(channelPost('LAUNCH', 20), { id: 'msg_11' });
    tracker.handle(channelPost('AUTH', 20), { id: 'msg_12' });
    // The same second: only the sequence tells that INIT is older than AUTH.
    expect(tracker.handle(channelPost('INIT', 20), { id: 'msg_10' })).toBe(false);
    expect(tracker.handle(channelPost('AUTH', 20), { id: 'msg_12' })).toBe(false);
    expect(tracker.handle(users('delete'), { id: 'msg_9' })).toBe(false);
    expect(tracker.status).toBe('AUTH');
  });

  it('orders events without a sequence (Whapi.Cloud) by start_at and uptime', () => {
    const { tracker } = tracked();
    tracker.handle(channelPost('AUTH', 30));
    expect(tracker.handle(channelPost('LAUNCH', 29))).toBe(false);
    expect(tracker.handle(channelPost('QR', 40, START - 100))).toBe(false);
    expect(tracker.status).toBe('AUTH');
    // The same second: taken in arrival order.
    expect(tracker.handle(channelPost('INIT', 30))).toBe(true);
    expect(tracker.status).toBe('INIT');
  });

  it('takes a new run (later start_at) even when its sequence starts over', () => {
    const { tracker } = tracked();
    tracker.handle(channelPost('AUTH', 500), { id: 'msg_900' });
    expect(tracker.handle(channelPost('INIT', 0, START + 1000), { id: 'msg_3' })).toBe(true);
    expect(tracker.handle(channelPost('LAUNCH', 1, START + 1000), { id: 'msg_4' })).toBe(true);
    expect(tracker.status).toBe('LAUNCH');
  });

  it('reads users.delete as a logout (not authorized, no user) and users.post as a linked account', () => {
    const { tracker } = tracked();
    tracker.handle(channelPost('AUTH', 10), { id: 'msg_1' });
    tracker.handle(users('delete'), { id: 'msg_2' });
    expect(tracker.isAuthorized).toBe(false);
    expect(tracker.status).toBe('INIT');
    expect(tracker.user).toBeNull();
    tracker.handle(channelPost('QR', 12), { id: 'msg_4' });
    tracker.handle(users('post'), { id: 'msg_5' });
    expect(tracker.status).toBe('AUTH');
    expect(tracker.user).toEqual(USER);
  });

  it('treats SYNC_ERROR as able to send but not authorized', () => {
    const { tracker } = tracked();
    tracker.handle(channelPost('SYNC_ERROR', 10));
    expect(tracker.canSend).toBe(true);
    expect(tracker.isAuthorized).toBe(false);
  });

  it('polls GET /health?wakeup=false when webhooks go quiet, sooner while the channel is down', async () => {
    const source = fakeHealth(healthOf('AUTH', 100));
    const { clock, tracker, changes } = tracked({ client: source, quietMs: 60_000, downPollMs: 5_000 });
    tracker.start();
    await clock.advance(0);
    expect(source.calls).toEqual([{ wakeup: false }]);
    expect(tracker.status).toBe('AUTH');
    expect(changes[0]?.source).toBe('poll');

    await clock.advance(59_000);
    expect(source.calls).toHaveLength(1);
    await clock.advance(1_000);
    expect(source.calls).toHaveLength(2);

    // A webhook resets the quiet timer.
    await clock.advance(30_000);
    tracker.handle(channelPost('INIT', 200), { id: 'msg_1' });
    source.answer = healthOf('LAUNCH', 204);
    await clock.advance(4_999);
    expect(source.calls).toHaveLength(2);
    await clock.advance(1);
    expect(source.calls).toHaveLength(3);
    expect(tracker.status).toBe('LAUNCH');
    tracker.stop();
    await clock.advance(600_000);
    expect(source.calls).toHaveLength(3);
  });

  it('keeps its status and polls again when a poll fails', async () => {
    const source = fakeHealth(healthOf('AUTH', 100));
    const { clock, tracker } = tracked({ client: source, quietMs: 1_000, downPollMs: 1_000 });
    const errors: unknown[] = [];
    tracker.on('pollError', (e) => errors.push(e));
    tracker.handle(channelPost('AUTH', 99));
    source.fail = true;
    tracker.start();
    await clock.advance(1_000);
    await clock.advance(1_000);
    expect(errors).toHaveLength(2);
    expect(tracker.status).toBe('AUTH');
  });

  it('lets a webhook applied during a poll win over the poll answer of the same second', async () => {
    let answer!: (h: WireHealth) => void;
    const source = { health: () => new Promise<WireHealth>((r) => (answer = r)) };
    const { clock, tracker } = tracked({ client: source });
    tracker.handle(channelPost('AUTH', 50), { id: 'msg_1' });
    const poll = tracker.refresh();
    tracker.handle(channelPost('INIT', 51), { id: 'msg_2' });
    answer(healthOf('AUTH', 51));
    await poll;
    await clock.advance(0);
    expect(tracker.status).toBe('INIT');
  });

  it('waitForAuth resolves on AUTH and times out in virtual time', async () => {
    const { clock, tracker } = tracked();
    tracker.handle(channelPost('LAUNCH', 1));
    const waiting = tracker.waitForAuth(10_000);
    tracker.handle(channelPost('AUTH', 2));
    await expect(waiting).resolves.toBeUndefined();
    await expect(tracker.waitForAuth(1)).resolves.toBeUndefined();

    tracker.handle(channelPost('INIT', 3));
    const late = tracker.waitForAuth(10_000);
    const settled = expect(late).rejects.toBeInstanceOf(StatusTimeoutError);
    await clock.advance(10_000);
    await settled;
  });

  it('signals flapping after N drops out of AUTH within the window, and not for drops spread wider', async () => {
    const { clock, tracker } = tracked({ flap: { drops: 3, windowMs: 60_000 } });
    const signals: string[] = [];
    tracker.on('flapping', (s) => signals.push(`${s.source}:${s.drops}`));
    let uptime = 0;
    const blip = async (gapMs: number): Promise<void> => {
      tracker.handle(channelPost('AUTH', ++uptime));
      tracker.handle(channelPost('INIT', ++uptime));
      await clock.advance(gapMs);
    };
    await blip(40_000);
    await blip(40_000);
    await blip(40_000);
    expect(signals).toEqual([]);
    expect(tracker.flapping).toBe(false);
    await blip(1_000);
    await blip(1_000);
    expect(signals).toEqual(['tracker:3']);
    expect(tracker.flapping).toBe(true);
    await clock.advance(120_000);
    expect(tracker.flapping).toBe(false);
  });

  it("signals flapping when the gateway's alerts.post says so", () => {
    const { tracker } = tracked();
    const signals: string[] = [];
    tracker.on('flapping', (s) => signals.push(s.source));
    expect(tracker.handle(flappingAlert())).toBe(true);
    expect(signals).toEqual(['alert']);
    expect(tracker.flapping).toBe(true);
  });

  it('checks /health when a send is refused for authorization while it believes the channel is AUTH', async () => {
    const source = fakeHealth(healthOf('LAUNCH', 60));
    const { clock, tracker } = tracked({ client: source });
    tracker.handle(channelPost('AUTH', 59));
    tracker.noteUnauthorized();
    await clock.advance(0);
    expect(source.calls).toHaveLength(1);
    expect(tracker.status).toBe('LAUNCH');
  });

  it('ignores events of other channels when given its channel id', () => {
    const { tracker } = tracked({ channelId: 'OTHER-00001' });
    expect(tracker.handle(channelPost('AUTH', 1))).toBe(false);
    expect(tracker.status).toBeNull();
  });

  it('waits without a deadline when the timeout is infinite', async () => {
    const { clock, tracker } = tracked();
    const waiting = tracker.waitForAuth(Number.POSITIVE_INFINITY);
    await clock.advance(24 * 3_600_000);
    tracker.handle(channelPost('AUTH', 1));
    await expect(waiting).resolves.toBeUndefined();
  });
});
