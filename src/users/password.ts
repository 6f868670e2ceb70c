/**
 * Password hashing: bcrypt's own asynchronous API, which hashes on libuv's thread pool and never
 * on the event loop.
 *
 * At most `availableParallelism() - 1` hashes run at once (at least one); the rest wait in
 * order. So one core is always left to the event loop — on a 2-core machine, eight people
 * signing in at once take one core and the catalog keeps the other — and sign-ins cannot fill
 * libuv's four threads, which file reads (images) share. bench/README.md measures both sides:
 * sign-ins/s against a raw bcrypt loop on the same number of threads, and the catalog's p99
 * while eight clients sign in.
 */
import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';

/** Runs at most `limit` tasks at once; the others start in the order they were asked. */
export function limitConcurrency(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line (running stays the same), or is freed.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Hashes allowed at once: every core but one, for the event loop. */
export const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);

const limited = limitConcurrency(HASH_CONCURRENCY);

/**
 * A bcrypt hash at `cost` (4..31; bcrypt itself would silently clamp anything else, and 31
 * takes days, so it is refused here).
 */
export function hashPassword(password: string, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) return Promise.reject(new RangeError(`bcrypt cost must be a whole number from 4 to 31, not ${cost}`));
  return limited(() => bcrypt.hash(password, cost));
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return limited(() => bcrypt.compare(password, hash));
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
