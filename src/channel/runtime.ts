import { EventEmitter } from 'node:events';
import { channelStatus, envelope, type ChannelEvent, type EventPayloads, type Health, type HistoryEntry, type StatusText } from '@wagate/protocol';
import { qrDataUrl } from './qr-image.js';
import type { Engine, EngineConnection, EngineData } from '../engines/engine.js';
import { deliveryTargets, withTargets } from '../webhooks/outbox.js';
import type { Fence } from '../store/cluster.js';
import type { LeaseLostError } from '../store/errors.js';
import type { ChannelChange, ChannelRecord, OutboundEvent, Store } from '../store/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { CommitJournal } from './journal.js';
import { step, type Effect, type LifecycleEnv, type LifecycleInput, type LifecycleState, type TimerName } from './lifecycle.js';

export interface RuntimeDeps {
  store: Store;
  clock: Clock;
  env: LifecycleEnv;
  version: string;
  /** Called after each committed change with the events it wrote (dispatcher wake-up, streams). */
  onCommitted?: (channelId: string, events: OutboundEvent[]) => void;
  /** Logs an engine failure (never a token or a message body). */
  onError?: (channelId: string, err: unknown) => void;
  /** Messages and receipts from the live connection. */
  onData?: (runtime: ChannelRuntime, data: EngineData) => Promise<void> | void;
  /** Sees every committed lifecycle step's effects (metrics). */
  onStep?: (channelId: string, effects: Effect[]) => void;
  /** A commit failed because the store did (it is retried); logs and metrics. */
  onStoreFault?: (channelId: string, err: unknown) => void;
  /** The lease this runtime writes under (several nodes): epoch 0 holds none and writes nothing. */
  fence?: Fence;
  /** A write was refused because the lease moved on (the owner must stop the engine). */
  onLeaseLost?: (channelId: string, err: LeaseLostError) => void;
}

export interface CommitOptions {
  /**
   * Retry store faults until the change is durable (default). False for writes that may simply
   * fail while nothing depends on them yet (an idempotency mark before anything was sent): they
   * fail at once with StoreUnavailableError while the channel's store is failing.
   */
  untilDurable?: boolean;
}

/** A change that did not come from the lifecycle: messages, receipts, alerts, remediation's notes. */
export type SideChange = Omit<ChannelChange, 'channelId' | 'snapshot' | 'events' | 'wipeCredentials'> & {
  events?: ChannelEvent[];
};

/**
 * One channel at run time: it feeds inputs to the pure lifecycle one at a time, writes each
 * step's status, history and events in one store transaction, then carries out the step's
 * engine and timer effects.
 */
export class ChannelRuntime {
  private queue: Promise<void> = Promise.resolve();
  private timers = new Map<TimerName, TimerHandle>();
  private connection: EngineConnection | null = null;
  private closed = false;
  private readonly journal: CommitJournal;
  /** Made on first use: most channels never have a waiter, and an emitter costs a few hundred bytes. */
  private emitter: EventEmitter | null = null;

  constructor(
    readonly record: ChannelRecord,
    public state: LifecycleState,
    readonly engine: Engine,
    private readonly deps: RuntimeDeps,
  ) {
    this.journal = new CommitJournal({
      store: deps.store,
      clock: deps.clock,
      channelId: record.id,
      onCommitted: deps.onCommitted,
      onStoreFault: deps.onStoreFault,
      fence: deps.fence,
      onLeaseLost: deps.onLeaseLost,
    });
  }

  /** The lease this runtime writes under, if several nodes share the store. */
  get fence(): Fence | undefined {
    return this.deps.fence;
  }

  /** Emits 'status' (StatusText) after every committed status change. */
  get changes(): EventEmitter {
    if (!this.emitter) {
      this.emitter = new EventEmitter();
      this.emitter.setMaxListeners(0);
    }
    return this.emitter;
  }

  /** True while this channel holds changes the store refused (they are being retried). */
  get storeFailing(): boolean {
    return this.journal.failing;
  }

  get id(): string {
    return this.record.id;
  }

  /** The live connection, if an attempt is under way. */
  get liveConnection(): EngineConnection | null {
    return this.connection;
  }

  /** Queues an input; resolves once its effects are committed and started. */
  send(input: LifecycleInput): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : this.apply(input)));
    this.queue = run.catch((err) => this.deps.onError?.(this.id, err));
    return run;
  }

  /** The channel's Health object as it stands (Whapi's `Health`). */
  health(state: LifecycleState = this.state, status: StatusText = state.status): Health {
    const now = this.deps.clock.now();
    const running = status !== 'NOT_INIT' && status !== 'STOP' && state.startAt !== null;
    const startAt = state.startAt ?? this.record.createdAt;
    const health: Health = {
      channel_id: this.id,
      start_at: Math.floor(startAt / 1000),
      uptime: running ? Math.max(0, Math.floor((now - startAt) / 1000)) : 0,
      version: this.deps.version,
      status: channelStatus(status),
    };
    if (state.user) health.user = { ...state.user };
    return health;
  }

  /** Resolves when `predicate` holds for the status, or with false after `timeoutMs`. */
  waitFor(predicate: (s: LifecycleState) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(this.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onChange = (): void => {
        if (!predicate(this.state)) return;
        cleanup();
        resolve(true);
      };
      const timer = this.deps.clock.setTimeout(() => {
        cleanup();
        resolve(predicate(this.state));
      }, timeoutMs);
      const cleanup = (): void => {
        this.deps.clock.clearTimeout(timer);
        this.changes.off('status', onChange);
      };
      this.changes.on('status', onChange);
    });
  }

  /**
   * Writes events that did not come from the lifecycle (webhook alerts, messages) through the
   * outbox, in order with the channel's own events.
   */
  publish(events: ChannelEvent[]): Promise<void> {
    return this.commitSide(() => ({ events })).then(() => undefined);
  }

  /**
   * Runs `build` in this channel's queue and commits what it answers (messages, chats, events,
   * an idempotency record) in one transaction. `build` sees every earlier change committed.
   */
  commitSide<T extends SideChange | null>(build: () => Promise<T> | T, opts: CommitOptions = {}): Promise<T> {
    const mayFail = opts.untilDurable === false;
    const run = this.queue.then(async () => {
      // A build reads the store (has this message been seen?): a failing read is retried here.
      const change = mayFail ? await build() : await this.journal.retrying(async () => build());
      if (this.closed || !change) return { change, durable: Promise.resolve() };
      // Object.assign, not a spread: keys added after a spread are slow on Node 20 (see pendingDelivery).
      const whole = Object.assign({}, change, { channelId: this.id, events: this.outbound(change.events ?? []) });
      const { accepted, durable } = this.journal.commit(whole, mayFail);
      // The queue goes on once the change is durable, or held in memory while the store fails.
      await accepted;
      return { change, durable };
    });
    this.queue = run.then(
      () => undefined,
      (err) => this.deps.onError?.(this.id, err),
    );
    return run.then(async ({ change, durable }) => {
      await durable;
      return change;
    });
  }

  /** Stops timers and the engine without recording anything (gateway shutdown, delete). */
  async shutdown(): Promise<void> {
    this.journal.close();
    await this.queue;
    const conn = this.detach();
    await conn?.close().catch(() => undefined);
    await this.engine.dispose().catch(() => undefined);
  }

  /**
   * Stops the engine and timers at once, without waiting for writes in flight: the node lost
   * (or may have lost) the lease. What the journal holds is still offered to the store, which
   * takes it only if the lease is still this runtime's, and refuses it otherwise.
   */
  halt(): void {
    const conn = this.detach();
    void conn?.close().catch(() => undefined);
    void this.engine.dispose().catch(() => undefined);
  }

  /** Closes the runtime to further steps, clears its timers and answers the connection it let go. */
  private detach(): EngineConnection | null {
    this.closed = true;
    for (const t of this.timers.values()) this.deps.clock.clearTimeout(t);
    this.timers.clear();
    const conn = this.connection;
    this.connection = null;
    return conn;
  }

  /** Resolves once the journal holds nothing (after halt: landed or refused). */
  settled(): Promise<void> {
    return this.journal.idle();
  }

  private async apply(input: LifecycleInput): Promise<void> {
    const prev = this.state;
    const { state, effects } = step(prev, input, this.deps.clock.now(), this.deps.env);
    if (effects.length === 0) {
      this.state = state;
      return;
    }
    if (effects.some((e) => e.kind === 'logout')) await this.connection?.logout().catch(() => undefined);
    // Readers see the new state once it is durable, so /health never runs ahead of the history,
    // except while the store fails: then the step is held in the journal and the channel lives
    // on (the truth about the connection beats the record, which follows once the store is back).
    await this.commit(prev, state, effects);
    // Halted while the step was being written: its engine and timer effects must not start.
    if (this.closed) return;
    this.state = state;
    this.deps.onStep?.(this.id, effects);
    for (const effect of effects) this.carryOut(effect);
    if (prev.status !== state.status) this.emitter?.emit('status', state.status);
  }

  /** Writes the step's snapshot, history and events in one transaction. */
  private async commit(prev: LifecycleState, s: LifecycleState, effects: Effect[]): Promise<void> {
    const produced: ChannelEvent[] = [];
    const history: HistoryEntry[] = [];
    for (const effect of effects) {
      if (effect.kind === 'record') {
        history.push(effect.entry);
        if (effect.entry.from !== effect.entry.to) produced.push({ name: 'channel.post', payload: { health: this.health(s, effect.entry.to) } });
      } else if (effect.kind === 'emit') {
        produced.push(await this.withQrImage(effect.event));
      }
    }
    const events = this.outbound(produced);
    const snapshotChanged =
      s.status !== prev.status || s.user !== prev.user || s.startAt !== prev.startAt || s.reason !== prev.reason;
    if (!snapshotChanged && history.length === 0 && events.length === 0 && !hasWipe(effects)) return;
    const { accepted } = this.journal.commit({
      channelId: this.id,
      snapshot: {
        status: s.status,
        statusReason: s.reason,
        statusDetail: s.detail,
        statusSince: s.statusSince,
        startAt: s.startAt,
        user: s.user,
      },
      history,
      events,
      wipeCredentials: hasWipe(effects),
    });
    await accepted;
  }

  /** Events in their wire envelope, with one delivery target per webhook that takes them. */
  private outbound(events: ChannelEvent[]): OutboundEvent[] {
    const now = this.deps.clock.now();
    const wrapped = events.map((event) => ({ name: event.name, body: envelope(this.id, event) as Record<string, unknown>, createdAt: now }));
    return withTargets(this.record.settings, wrapped);
  }

  /**
   * A new QR goes to webhooks as Whapi's whole QR object, the PNG included. Rendering costs a few
   * milliseconds of CPU per QR, so it is done only when a webhook of the channel takes the event.
   */
  private async withQrImage(event: ChannelEvent): Promise<ChannelEvent> {
    if (event.name !== 'channel.patch') return event;
    const { qr } = event.payload as EventPayloads['channel.patch'];
    if (!qr.rowdata || deliveryTargets(this.record.settings, 'channel.patch', {}).length === 0) return event;
    return { name: 'channel.patch', payload: { qr: { ...qr, base64: await qrDataUrl(qr.rowdata) } } };
  }

  private carryOut(effect: Effect): void {
    switch (effect.kind) {
      case 'connect': {
        const attempt = effect.attempt;
        void this.connection?.close().catch(() => undefined);
        this.connection = this.engine.connect((event) => {
          if (event.type === 'message' || event.type === 'receipt') {
            // Data from an attempt that is no longer the live one is stale.
            if (attempt === this.state.attempt) return this.deps.onData?.(this, event);
          } else {
            void this.send({ type: 'engine', attempt, signal: event });
          }
        });
        return;
      }
      case 'disconnect': {
        const conn = this.connection;
        this.connection = null;
        void conn?.close().catch(() => undefined);
        return;
      }
      case 'schedule': {
        this.cancel(effect.timer);
        const { timer, attempt } = effect;
        const delay = Math.max(0, effect.at - this.deps.clock.now());
        this.timers.set(
          timer,
          this.deps.clock.setTimeout(() => {
            this.timers.delete(timer);
            void this.send({ type: 'timer', timer, attempt });
          }, delay),
        );
        return;
      }
      case 'cancel':
        this.cancel(effect.timer);
        return;
      default:
        return;
    }
  }

  private cancel(timer: TimerName): void {
    const handle = this.timers.get(timer);
    if (handle) this.deps.clock.clearTimeout(handle);
    this.timers.delete(timer);
  }
}

function hasWipe(effects: Effect[]): boolean {
  return effects.some((e) => e.kind === 'wipe_credentials' || e.kind === 'logout');
}
