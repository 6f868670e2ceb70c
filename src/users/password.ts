/**
 * bcrypt off the event loop, at low CPU priority.
 *
 * Hashes run in worker threads that lower their own scheduling priority (nice 19 on Linux) and
 * call bcrypt synchronously there. The event loop — every other request — therefore always wins
 * the CPU over a sign-in in progress: on a 2-core machine, eight people signing in at once no
 * longer stall the catalog. The cost of each hash is unchanged (same bcrypt, same cost factor);
 * sign-ins only wait when the machine is busy serving.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try {
  // This thread's id; setpriority on a thread id affects that thread only (Linux).
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 19);
} catch {}
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', ({ op, a, b }) => {
  try {
    parentPort.postMessage({ result: op === 'hash' ? bcrypt.hashSync(a, b) : bcrypt.compareSync(a, b) });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

type Job = { op: 'hash' | 'compare'; a: string; b: string | number; resolve(v: unknown): void; reject(e: Error): void };

/** Starts one worker thread that answers `{ op, a, b }` messages with `{ result }` or `{ error }` (one job at a time, so replies need no id). */
export type StartWorker = () => Worker;

/** The pool's bookkeeping, for tests and diagnostics. */
export interface PoolStats {
  /** Workers started and not yet exited (never above the pool size, never negative). */
  workers: number;
  idle: number;
  busy: number;
  queued: number;
}

export interface BcryptPool {
  run<T>(op: Job['op'], a: string, b: string | number): Promise<T>;
  stats(): PoolStats;
}

class WorkerPool implements BcryptPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  /** Workers started and not yet exited: incremented once a Worker exists, decremented on its 'exit'. */
  private created = 0;

  constructor(
    private readonly size: number,
    private readonly startWorker: StartWorker,
  ) {}

  run<T>(op: Job['op'], a: string, b: string | number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, a, b, resolve: resolve as Job['resolve'], reject });
      this.pump();
    });
  }

  stats(): PoolStats {
    return { workers: this.created, idle: this.idle.length, busy: this.busy.size, queued: this.queue.length };
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.created < this.size) {
        try {
          worker = this.spawn();
        } catch (err) {
          // No thread could be started (ERR_WORKER_INIT_FAILED, say). Workers still running will
          // take the queue when they finish; with none, nothing ever would: refuse what waits.
          // The next job tries to start a worker again.
          if (this.created === 0) for (const job of this.queue.splice(0)) job.reject(err as Error);
          return;
        }
      }
      if (!worker) return;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.ref(); // keep the process alive while a hash is owed (a CLI command, say)
      worker.postMessage({ op: job.op, a: job.a, b: job.b });
    }
  }

  /** Starts a worker; counts it only once it exists (a constructor that throws leaves no trace). */
  private spawn(): Worker {
    const worker = this.startWorker();
    this.created++;
    worker.unref();
    let dead = false;
    worker.on('message', (msg: { result?: unknown; error?: string }) => {
      if (dead) return;
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (job) {
        if (msg.error !== undefined) job.reject(new Error(msg.error));
        else job.resolve(msg.result);
      }
      this.pump();
    });
    // A crash fires 'error' and then 'exit'; a thread that ends on its own fires only 'exit'.
    // The first one takes the worker out of service and fails its job; only 'exit' — once per
    // worker, when the thread is really gone — frees its place in the pool.
    const retire = (err: Error) => {
      if (dead) return;
      dead = true;
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      job?.reject(err);
    };
    // What the worker threw arrives as a structured clone: wrapped in an Error of this thread.
    worker.on('error', (err: unknown) => retire(new Error(`bcrypt worker crashed: ${String((err as { message?: unknown })?.message ?? err)}`, { cause: err })));
    worker.on('exit', (code) => {
      retire(new Error(`bcrypt worker exited with code ${code}`));
      this.created--;
      this.pump();
    });
    return worker;
  }
}

/**
 * A pool of at most `size` workers, each started by `startWorker`. The application's pool below
 * is one of these with the real bcrypt worker; exported only so tests can drive a pool with a
 * worker that crashes or fails to start. Not for application code.
 * @internal
 */
export function createBcryptPool(size: number, startWorker: StartWorker): BcryptPool {
  return new WorkerPool(size, startWorker);
}

// One core's worth of hashing leaves the others to serving; each worker isolate also costs
// about 9 MB of memory.
const pool = createBcryptPool(Math.max(1, availableParallelism() - 1), () => {
  const bcryptPath = createRequire(import.meta.url).resolve('bcrypt');
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
});

export function hashPassword(password: string, cost: number): Promise<string> {
  return pool.run<string>('hash', password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return pool.run<boolean>('compare', password, hash);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash to compare against when the user does not exist, so an unknown login costs the same
 * bcrypt work as a wrong password and the two cannot be told apart by timing.
 */
export function dummyHash(cost: number): Promise<string> {
  let h = dummyHashes.get(cost);
  if (!h) {
    const made = hashPassword('watchstore-timing-equaliser', cost);
    dummyHashes.set(cost, made);
    // A failed hash is not kept: the next unknown login tries again instead of failing forever.
    made.catch(() => {
      if (dummyHashes.get(cost) === made) dummyHashes.delete(cost);
    });
    h = made;
  }
  return h;
}
