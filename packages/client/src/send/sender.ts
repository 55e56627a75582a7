import { randomUUID } from 'node:crypto';
import { AbortedError, sleep, systemClock, type Clock } from '../clock.js';
import { Emitter } from '../emitter.js';
import { isGateError, type AnyGateError } from '../gate/errors.js';
import { canSendIn, normaliseChatId, type SendText, type SentMessage, type StatusText } from '../protocol.js';
import { StatusTimeoutError } from '../status/tracker.js';
import { DEFAULT_RETRY_POLICY, decideRetry, type RetryCounts, type RetryPolicy, type RetryReason } from './policy.js';

/** A failure of the sender itself rather than of a request. */
export class SenderError extends Error {
  override readonly name = 'SenderError';
  constructor(
    /** `auth_timeout`: the channel did not become sendable in time; `closed`: `close()` was called; `unexpected`: not a gate error. */
    readonly kind: 'auth_timeout' | 'closed' | 'unexpected',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The final outcome of one message: it resolves, never rejects. */
export type SendOutcome =
  /** `replayed`: the gateway had already sent this key's message and answered its record; nothing went out again. */
  | { ok: true; request: SendText; idempotencyKey: string; attempts: number; message: SentMessage['message']; replayed: boolean }
  | { ok: false; request: SendText; idempotencyKey: string; attempts: number; error: AnyGateError | SenderError };

export interface RetryNotice {
  request: SendText;
  idempotencyKey: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  reason: RetryReason;
  delayMs: number;
  error: AnyGateError;
}

export interface SenderEvents {
  outcome: SendOutcome;
  retry: RetryNotice;
}

/** What the sender needs of a `GateClient`. */
export interface TextSendingClient {
  messages: { sendText(body: SendText, options: { idempotencyKey?: string; signal?: AbortSignal; onReplayed?(): void }): Promise<SentMessage> };
}

/** What the sender needs of a `ChannelStatusTracker`. */
export interface SendGate {
  readonly canSend: boolean;
  waitFor(predicate: (status: StatusText | null) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  noteUnauthorized?(): void;
}

export interface ResilientSenderOptions {
  client: TextSendingClient;
  /** When given, sends wait while the channel cannot send instead of collecting 401s. */
  tracker?: SendGate;
  retry?: Partial<RetryPolicy>;
  /** Chats sending at once (default 4); within a chat, one message at a time, in order. */
  concurrency?: number;
  clock?: Clock;
  /** In [0, 1), for backoff jitter. */
  random?: () => number;
  /** A fresh Idempotency-Key (default a random UUID). */
  newKey?: () => string;
}

interface Job {
  request: SendText;
  key: string;
  enqueuedAt: number;
  resolve(outcome: SendOutcome): void;
}

/**
 * Sends text messages so that each goes out once and in order per chat, through reconnects,
 * logouts, rate limits and server failures. Each message gets one Idempotency-Key, reused by
 * all its retries, so a retry after a lost answer cannot send it twice.
 */
export class ResilientSender extends Emitter<SenderEvents> {
  private readonly queues = new Map<string, Job[]>();
  /** Chats with queued messages and no worker, oldest first. */
  private readonly ready: string[] = [];
  private readonly busy = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly newKey: () => string;
  private readonly concurrency: number;
  private pendingCount = 0;

  constructor(private readonly options: ResilientSenderOptions) {
    super();
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.newKey = options.newKey ?? randomUUID;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Messages queued or in flight. */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Queues a message; resolves with its final outcome. Pass `idempotencyKey` to tie the message
   * to something you already dedupe on (an inbound message id), so even a second `send` of the
   * same logical message is sent once.
   */
  send(request: SendText, options: { idempotencyKey?: string } = {}): Promise<SendOutcome> {
    const key = options.idempotencyKey ?? this.newKey();
    return new Promise((resolve) => {
      const job: Job = { request, key, enqueuedAt: this.clock.now(), resolve };
      this.pendingCount += 1;
      if (this.abort.signal.aborted) return this.finish(job, 0, { error: new SenderError('closed', 'the sender is closed') });
      const chat = normaliseChatId(request.to);
      const queue = this.queues.get(chat);
      if (queue) return void queue.push(job);
      this.queues.set(chat, [job]);
      this.ready.push(chat);
      this.pump();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops sending: queued messages and those waiting to retry end with a `closed` SenderError. */
  close(): void {
    this.abort.abort();
  }

  private pump(): void {
    while (this.busy.size < this.concurrency && this.ready.length > 0) {
      const chat = this.ready.shift() as string;
      this.busy.add(chat);
      void this.work(chat);
    }
  }

  /** Sends one chat's messages one after another until its queue is empty. */
  private async work(chat: string): Promise<void> {
    const queue = this.queues.get(chat) as Job[];
    while (queue.length > 0) {
      await this.deliver(queue[0] as Job);
      queue.shift();
    }
    this.queues.delete(chat);
    this.busy.delete(chat);
    this.pump();
  }

  private async deliver(job: Job): Promise<void> {
    const counts: RetryCounts = { authorization: 0, transient: 0 };
    const signal = this.abort.signal;
    let attempts = 0;
    let lastError: AnyGateError | null = null;
    for (;;) {
      try {
        await this.waitUntilSendable(job, signal);
      } catch (err) {
        const error = err instanceof StatusTimeoutError ? (lastError ?? new SenderError('auth_timeout', err.message)) : closedOr(err);
        return this.finish(job, attempts, { error });
      }
      attempts += 1;
      try {
        let replayed = false;
        const sent = await this.options.client.messages.sendText(job.request, { idempotencyKey: job.key, signal, onReplayed: () => (replayed = true) });
        return this.finish(job, attempts, { message: sent.message, replayed });
      } catch (err) {
        if (signal.aborted) return this.finish(job, attempts, { error: closedOr(err) });
        const decision = decideRetry(err, counts, this.policy, this.random());
        if (!decision.retry) return this.finish(job, attempts, { error: asFailure(err) });
        lastError = err as AnyGateError;
        if (decision.reason === 'authorization') {
          counts.authorization += 1;
          this.options.tracker?.noteUnauthorized?.();
        } else {
          counts.transient += 1;
        }
        this.emit('retry', { request: job.request, idempotencyKey: job.key, attempt: attempts, reason: decision.reason, delayMs: decision.delayMs, error: lastError });
        try {
          await sleep(this.clock, decision.delayMs, signal);
        } catch (e) {
          return this.finish(job, attempts, { error: closedOr(e) });
        }
      }
    }
  }

  /** Waits while the tracker says the channel cannot send, within `maxWaitForAuthMs` of queueing. */
  private async waitUntilSendable(job: Job, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new AbortedError('closed');
    const tracker = this.options.tracker;
    if (!tracker || tracker.canSend) return;
    const left = job.enqueuedAt + this.policy.maxWaitForAuthMs - this.clock.now();
    if (left <= 0) throw new StatusTimeoutError(`the channel could not send for ${this.policy.maxWaitForAuthMs} ms`);
    await tracker.waitFor(canSendIn, left, signal);
  }

  private finish(job: Job, attempts: number, result: { message: SentMessage['message']; replayed: boolean } | { error: AnyGateError | SenderError }): void {
    const outcome: SendOutcome =
      'message' in result
        ? { ok: true, request: job.request, idempotencyKey: job.key, attempts, message: result.message, replayed: result.replayed }
        : { ok: false, request: job.request, idempotencyKey: job.key, attempts, error: result.error };
    job.resolve(outcome);
    this.emit('outcome', outcome);
    this.settled();
  }

  private settled(): void {
    this.pendingCount = Math.max(0, this.pendingCount - 1);
    if (this.pendingCount === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }
}

function closedOr(err: unknown): SenderError {
  if (err instanceof AbortedError || (err instanceof Error && err.name === 'AbortError')) return new SenderError('closed', 'the sender was closed');
  return new SenderError('unexpected', err instanceof Error ? err.message : String(err), { cause: err });
}

function asFailure(err: unknown): AnyGateError | SenderError {
  return isGateError(err) ? err : closedOr(err);
}
