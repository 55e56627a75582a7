import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../channel/clock.js';
import { SyncWatch, type SyncFailure } from './sync-watch.js';

function watch(timeoutMs = 60_000): { clock: VirtualClock; sync: SyncWatch; failures: SyncFailure[] } {
  const clock = new VirtualClock();
  const failures: SyncFailure[] = [];
  return { clock, sync: new SyncWatch(clock, timeoutMs, (f) => failures.push(f)), failures };
}

describe('SyncWatch', () => {
  it('is satisfied on a reconnect once the offline backlog arrives in time', async () => {
    const { clock, sync, failures } = watch();
    sync.opened(false);
    await clock.advance(59_000);
    sync.pendingReceived();
    await clock.advance(10_000);
    expect(failures).toStrictEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('fails once when the offline backlog does not arrive within the bound', async () => {
    const { clock, sync, failures } = watch();
    sync.opened(false);
    await clock.advance(59_999);
    expect(failures).toHaveLength(0);
    await clock.advance(1);
    expect(failures).toStrictEqual([{ kind: 'pending', detail: 'WhatsApp did not deliver the messages that arrived while offline within 60 s of connecting' }]);
    sync.pendingReceived();
    await clock.advance(60_000);
    expect(failures).toHaveLength(1);
  });

  it('needs the history sync too on the first connection of a new device', async () => {
    const { clock, sync, failures } = watch(30_000);
    sync.opened(true);
    sync.pendingReceived();
    await clock.advance(30_000);
    expect(failures).toStrictEqual([{ kind: 'history', detail: 'the phone did not start the initial history sync within 30 s of linking; logout and pair again' }]);
  });

  it('counts signals that came before open', async () => {
    const { clock, sync, failures } = watch();
    sync.pendingReceived();
    sync.historyReceived();
    sync.opened(true);
    expect(clock.pending).toBe(0);
    await clock.advance(120_000);
    expect(failures).toStrictEqual([]);
  });

  it('is satisfied by history and backlog in either order', async () => {
    const { clock, sync, failures } = watch();
    sync.opened(true);
    sync.historyReceived();
    await clock.advance(1_000);
    expect(clock.pending).toBe(1);
    sync.pendingReceived();
    expect(clock.pending).toBe(0);
    await clock.advance(120_000);
    expect(failures).toStrictEqual([]);
  });

  it('never fires after stop (the connection ended)', async () => {
    const { clock, sync, failures } = watch();
    sync.opened(true);
    sync.stop();
    await clock.advance(120_000);
    expect(failures).toStrictEqual([]);
  });
});
