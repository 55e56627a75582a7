import type { Clock, TimerHandle } from '../../channel/clock.js';

/** Why a sync was judged failed; `history` failures stick to the account (see docs/baileys.md). */
export type SyncFailure = { kind: 'pending' | 'history'; detail: string };

/**
 * The SYNC_ERROR rule for one connection. After `open`, within `timeoutMs`:
 * - WhatsApp must hand over what arrived while the device was offline (Baileys'
 *   `receivedPendingNotifications: true`), on every connection;
 * - on the first connection of a newly linked device, the phone must also start the initial
 *   history sync (a `messaging-history.set` or a `messaging-history.status`).
 * Either may arrive before `open` (Baileys emits `open` only after its own login round trips).
 * If one is missing at the deadline, `onFail` is called once.
 */
export class SyncWatch {
  private pendingDone = false;
  private historyDone = false;
  private needsHistory = false;
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onFail: (failure: SyncFailure) => void,
  ) {}

  /** WhatsApp delivered the offline backlog. */
  pendingReceived(): void {
    this.pendingDone = true;
    this.settleIfDone();
  }

  /** The phone sent (part of) the history sync. */
  historyReceived(): void {
    this.historyDone = true;
    this.settleIfDone();
  }

  /** The connection opened; `needsHistory` for the first connection of a newly linked device. */
  opened(needsHistory: boolean): void {
    if (this.stopped || this.timer) return;
    this.needsHistory = needsHistory;
    if (this.done()) return this.stop();
    this.timer = this.clock.setTimeout(() => this.expire(), this.timeoutMs);
  }

  /** Ends the watch (the sync completed or the connection ended). */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private done(): boolean {
    return this.pendingDone && (this.historyDone || !this.needsHistory);
  }

  private settleIfDone(): void {
    if (this.timer && this.done()) this.stop();
  }

  private expire(): void {
    this.timer = null;
    if (this.stopped) return;
    this.stopped = true;
    const seconds = Math.round(this.timeoutMs / 1000);
    if (this.needsHistory && !this.historyDone) {
      this.onFail({ kind: 'history', detail: `the phone did not start the initial history sync within ${seconds} s of linking; logout and pair again` });
    } else {
      this.onFail({ kind: 'pending', detail: `WhatsApp did not deliver the messages that arrived while offline within ${seconds} s of connecting` });
    }
  }
}
