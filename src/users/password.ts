import bcrypt from 'bcrypt';

/** Async bcrypt: the work runs on libuv's thread pool, never on the event loop. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash to compare against when the user does not exist, so an unknown login costs the same
 * bcrypt work as a wrong password and the two cannot be told apart by timing.
 */
export function dummyHash(cost: number): Promise<string> {
  let h = dummyHashes.get(cost);
  if (!h) {
    h = bcrypt.hash('watchstore-timing-equaliser', cost);
    dummyHashes.set(cost, h);
  }
  return h;
}
