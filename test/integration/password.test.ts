import { readFileSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import bcrypt from 'bcrypt';
import { createBcryptPool, dummyHash, hashPassword, verifyPassword } from '../../src/users/password.js';

test('when a password is hashed, then it is a bcrypt hash of the asked cost that verifies, and a wrong one does not', async (t) => {
  const hash = await hashPassword('correct horse', 5);
  t.regex(hash, /^\$2b\$05\$/);
  t.true(await bcrypt.compare('correct horse', hash), 'the hash is plain bcrypt');
  t.true(await verifyPassword('correct horse', hash));
  t.false(await verifyPassword('wrong horse', hash));
});

test('when many hashes are asked at once, then every one completes and verifies', async (t) => {
  const passwords = Array.from({ length: 12 }, (_, i) => `password-${i}`);
  const hashes = await Promise.all(passwords.map((p) => hashPassword(p, 4)));
  const checks = await Promise.all(hashes.map((h, i) => verifyPassword(passwords[i], h)));
  t.deepEqual(
    checks,
    passwords.map(() => true),
  );
});

test('when a hash fails (malformed input), then the promise rejects and the pool keeps working', async (t) => {
  await t.throwsAsync(hashPassword('x', 99 as number));
  t.true(await verifyPassword('still works', await hashPassword('still works', 4)));
});

/** nice value of each thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]);
  });
}

test('when bcrypt has run, then it ran on threads at the lowest CPU priority, so the event loop always wins the CPU', async (t) => {
  if (process.platform !== 'linux') return t.pass('thread priorities are only lowered on Linux');
  await Promise.all([hashPassword('a-password', 4), hashPassword('b-password', 4)]);
  const nice = threadNiceValues();
  t.true(nice.includes(19), `a bcrypt thread at nice 19; thread nice values: ${nice.join(',')}`);
  t.is(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[16]), 0, 'the main thread keeps normal priority');
});

/*
 * The pool itself, driven through its test seam with a stand-in worker: it answers with its
 * thread id, throws (an uncaught exception: 'error' then 'exit') when asked to hash 'crash',
 * and ends its thread (only 'exit') when asked to hash 'exit'.
 */
const STAND_IN_WORKER = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', ({ id, a }) => {
  if (a === 'crash') throw new Error('worker crashed');
  if (a === 'exit') process.exit(3);
  parentPort.postMessage({ id, result: threadId });
});
`;
const startStandIn = () => new Worker(STAND_IN_WORKER, { eval: true });

/** The promise's value, or a failure once `ms` have passed without one. */
async function within<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `check` holds, polling, or fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('when a worker crashes five times, then the pool counts each crashed worker once and a burst still runs on at most the pool size of workers', async (t) => {
  const pool = createBcryptPool(1, startStandIn);
  for (let i = 0; i < 5; i++) {
    await t.throwsAsync(within(pool.run('hash', 'crash', 0)), { message: 'bcrypt worker crashed: worker crashed' });
    t.true(pool.stats().workers >= 0, `worker count after crash ${i + 1}: ${pool.stats().workers}`);
  }
  await until(() => pool.stats().workers <= 0, 'every crashed worker has exited');
  t.is(pool.stats().workers, 0);

  const threads = await within(Promise.all(Array.from({ length: 6 }, () => pool.run<number>('hash', 'x', 0))));
  t.is(new Set(threads).size, 1, `the burst ran on threads ${threads.join(',')}`);
  t.is(pool.stats().workers, 1);
});

test('when a worker ends its thread in the middle of a job, then that job is rejected and the next one is served', async (t) => {
  const pool = createBcryptPool(1, startStandIn);
  await t.throwsAsync(within(pool.run('hash', 'exit', 0)), { message: 'bcrypt worker exited with code 3' });
  t.is(typeof (await within(pool.run<number>('hash', 'x', 0))), 'number');
  t.is(pool.stats().workers, 1);
});

test('when a worker cannot be started and no other is running, then the waiting job is rejected and the next job gets a worker', async (t) => {
  let starts = 0;
  const pool = createBcryptPool(1, () => {
    if (++starts === 1) throw Object.assign(new Error('Worker initialization failure'), { code: 'ERR_WORKER_INIT_FAILED' });
    return startStandIn();
  });
  await t.throwsAsync(within(pool.run('hash', 'x', 0)), { code: 'ERR_WORKER_INIT_FAILED' });
  t.deepEqual(pool.stats(), { workers: 0, idle: 0, busy: 0, queued: 0 });
  t.is(typeof (await within(pool.run<number>('hash', 'x', 0))), 'number');
  t.is(starts, 2);
});

test('when no second worker can be started while one runs, then every job is served by the one that runs', async (t) => {
  let starts = 0;
  const pool = createBcryptPool(2, () => {
    if (++starts >= 2) throw Object.assign(new Error('Worker initialization failure'), { code: 'ERR_WORKER_INIT_FAILED' });
    return startStandIn();
  });
  const threads = await within(Promise.all(Array.from({ length: 4 }, () => pool.run<number>('hash', 'x', 0))));
  t.is(new Set(threads).size, 1);
  t.is(pool.stats().workers, 1);
});

test('when the dummy hash fails, then the failure is not kept and the next call hashes again', async (t) => {
  const first = dummyHash(99); // an invalid cost: bcrypt refuses it
  await t.throwsAsync(first);
  const second = dummyHash(99);
  t.not(second, first, 'a new attempt, not the cached failure');
  await t.throwsAsync(second);
  const ok = dummyHash(4);
  t.is(dummyHash(4), ok, 'a hash that succeeds is still computed once');
  t.true(await verifyPassword('watchstore-timing-equaliser', await ok));
});
