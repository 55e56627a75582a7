import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../channel/clock.js';
import { ConnectionLostError, LivenessWatch, livenessTimings, type Answer } from './liveness.js';

/** A watch over a virtual clock with the default timings, recording its probes and its verdict. */
function watchHarness(options: Record<string, unknown> = {}) {
  const clock = new VirtualClock();
  const probes: number[] = [];
  const lost: string[] = [];
  const watch = new LivenessWatch(clock, livenessTimings(options), {
    probe: () => probes.push(clock.now()),
    lost: (detail) => lost.push(detail),
  });
  return { clock, watch, probes, lost, start: clock.now() };
}

/** Records how a watched request ends. */
function outcome<T>(p: Promise<Answer<T>>): { value: Answer<T> | Error | null } {
  const box: { value: Answer<T> | Error | null } = { value: null };
  p.then(
    (v) => (box.value = v),
    (e: Error) => (box.value = e),
  );
  return box;
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('liveness watch: a request waiting for its answer', () => {
  it('answers what came within the window, without probing', async () => {
    const h = watchHarness();
    let ack!: (v: string) => void;
    const seen = outcome(h.watch.watch(new Promise<string>((r) => (ack = r))));
    await h.clock.advance(2_900);
    ack('acked');
    await h.clock.advance(10_000);
    expect(seen.value).toStrictEqual({ kind: 'answered', value: 'acked' });
    expect(h.probes).toStrictEqual([]);
  });

  it('probes once the 3 s window passed, and declares the connection lost 3 s later without an answer', async () => {
    const h = watchHarness();
    const seen = outcome(h.watch.watch(never()));
    await h.clock.advance(2_999);
    expect(h.probes).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.probes).toStrictEqual([h.start + 3_000]);
    await h.clock.advance(2_999);
    expect(h.lost).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.lost).toStrictEqual(['no answer from WhatsApp for 6 s']);
    expect(seen.value).toBeInstanceOf(ConnectionLostError);
    expect((seen.value as Error).message).toBe('no answer from WhatsApp for 6 s');
  });

  it('answers unconfirmed when the probe is answered but the request is not, and keeps the connection', async () => {
    const h = watchHarness();
    const seen = outcome(h.watch.watch(never()));
    await h.clock.advance(3_000);
    h.watch.received();
    await h.clock.advance(1);
    expect(seen.value).toStrictEqual({ kind: 'unconfirmed' });
    await h.clock.advance(10_000);
    expect(h.lost).toStrictEqual([]);
  });

  it('honours configured windows', async () => {
    const h = watchHarness({ ack_window_ms: 500, probe_timeout_ms: 700 });
    outcome(h.watch.watch(never()));
    await h.clock.advance(500);
    expect(h.probes).toStrictEqual([h.start + 500]);
    await h.clock.advance(700);
    expect(h.lost).toStrictEqual(['no answer from WhatsApp for 1 s']);
  });

  it('sends one probe for several requests that go unanswered together', async () => {
    const h = watchHarness();
    const a = outcome(h.watch.watch(never()));
    await h.clock.advance(1_000);
    const b = outcome(h.watch.watch(never()));
    await h.clock.advance(6_000);
    expect(h.probes).toHaveLength(1);
    expect(h.lost).toStrictEqual(['no answer from WhatsApp for 6 s']);
    expect(a.value).toBeInstanceOf(ConnectionLostError);
    expect(b.value).toBeInstanceOf(ConnectionLostError);
  });

  it('fails waiting requests when stopped, and refuses new ones', async () => {
    const h = watchHarness();
    const seen = outcome(h.watch.watch(never()));
    h.watch.stop('the connection closed');
    await h.clock.advance(1);
    expect((seen.value as Error).message).toBe('the connection closed');
    await expect(h.watch.watch(Promise.resolve(1))).rejects.toBeInstanceOf(ConnectionLostError);
    await h.clock.advance(120_000);
    expect(h.probes).toStrictEqual([]);
    expect(h.lost).toStrictEqual([]);
  });
});

describe('liveness watch: at rest', () => {
  it('does not probe while the regular keep-alive is answered', async () => {
    const h = watchHarness();
    for (let i = 0; i < 10; i++) {
      await h.clock.advance(30_000);
      h.watch.received();
    }
    expect(h.probes).toStrictEqual([]);
  });

  it('probes when one keep-alive interval and the ack window passed in silence, and is lost 3 s later: 36 s', async () => {
    const h = watchHarness();
    await h.clock.advance(32_999);
    expect(h.probes).toStrictEqual([]);
    await h.clock.advance(1);
    expect(h.probes).toStrictEqual([h.start + 33_000]);
    await h.clock.advance(3_000);
    expect(h.lost).toStrictEqual(['no answer from WhatsApp for 36 s']);
  });

  it('follows a configured keep-alive', async () => {
    const h = watchHarness({ keep_alive_ms: 2_000, ack_window_ms: 500, probe_timeout_ms: 500 });
    await h.clock.advance(3_000);
    expect(h.lost).toStrictEqual(['no answer from WhatsApp for 3 s']);
  });
});
