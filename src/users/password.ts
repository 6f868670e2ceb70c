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
parentPort.on('message', ({ id, op, a, b }) => {
  try {
    parentPort.postMessage({ id, result: op === 'hash' ? bcrypt.hashSync(a, b) : bcrypt.compareSync(a, b) });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

type Job = { op: 'hash' | 'compare'; a: string; b: string | number; resolve(v: unknown): void; reject(e: Error): void };

class BcryptPool {
  // One core's worth of hashing leaves the others to serving; each worker isolate also costs
  // about 9 MB of memory.
  private readonly size = Math.max(1, availableParallelism() - 1);
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private created = 0;
  private nextId = 0;

  run<T>(op: Job['op'], a: string, b: string | number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, a, b, resolve: resolve as Job['resolve'], reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.created < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.ref(); // keep the process alive while a hash is owed (a CLI command, say)
      worker.postMessage({ id: this.nextId++, op: job.op, a: job.a, b: job.b });
    }
  }

  private spawn(): Worker {
    this.created++;
    const bcryptPath = createRequire(import.meta.url).resolve('bcrypt');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath } });
    worker.unref();
    worker.on('message', (msg: { result?: unknown; error?: string }) => {
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
    worker.on('error', (err) => this.fail(worker, err));
    worker.on('exit', (code) => this.fail(worker, new Error(`bcrypt worker exited with code ${code}`)));
    return worker;
  }

  private fail(worker: Worker, err: Error): void {
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    this.created--;
    job?.reject(err);
    this.pump();
  }
}

const pool = new BcryptPool();

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
    h = hashPassword('watchstore-timing-equaliser', cost);
    dummyHashes.set(cost, h);
  }
  return h;
}
