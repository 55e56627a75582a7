import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** How often the WAL is checkpointed once the checkpointer runs. */
const CHECKPOINT_EVERY_MS = 250;
/** SQLite's own default: checkpoint inside a COMMIT once the WAL holds this many pages. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The checkpointer's thread: its own connection to the database, which copies the WAL's pages
 * into the database file (a PASSIVE checkpoint never waits for, nor blocks, the writer) and syncs
 * it, whenever asked. Plain CommonJS, so it runs the same under tsx, vitest and node.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) });
  }
});
`;

/**
 * WAL checkpoints off the event loop. SQLite checkpoints inside the COMMIT that takes the WAL
 * past 1,000 pages: the pages are copied into the database file and both files synced, on the
 * main thread, and at 1,000 status changes per second that was every ~100 ms, holding every
 * request and webhook attempt behind it (a quarter of the loop's time in `bench:latency`). Here a
 * worker thread does them every 250 ms, and the main connection's automatic checkpoints are off
 * while it runs; should the worker fail, they are turned back on.
 */
export class Checkpointer {
  private worker: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** Starts the worker (once); the store calls it once it has written enough for checkpoints to matter. */
  start(): void {
    if (this.worker || this.closed) return;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.path, driver } });
    this.worker = worker;
    worker.unref();
    worker.on('message', (answer: { ok: boolean; error?: string }) => {
      this.busy = false;
      if (!answer.ok) this.onError(new Error(`WAL checkpoint failed: ${answer.error}`));
    });
    worker.on('error', (err) => this.fail(err));
    this.db.pragma('wal_autocheckpoint = 0');
    this.timer = setInterval(() => this.checkpoint(), CHECKPOINT_EVERY_MS).unref();
  }

  /** Stops the worker after the checkpoint under way; the main connection checkpoints again on its own. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.stop();
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    await exited;
  }

  private checkpoint(): void {
    if (this.busy || !this.worker) return;
    this.busy = true;
    this.worker.postMessage('checkpoint');
  }

  private fail(err: Error): void {
    this.onError(err);
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.worker = null;
    this.busy = false;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }
}
