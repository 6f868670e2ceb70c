import test from 'ava';
import bcrypt from 'bcrypt';
import { dummyHash, HASH_CONCURRENCY, hashPassword, limitConcurrency, verifyPassword } from '../../src/users/password.js';

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

test('when a hash fails (malformed input), then the promise rejects and hashing keeps working', async (t) => {
  await t.throwsAsync(hashPassword('x', 99 as number));
  t.true(await verifyPassword('still works', await hashPassword('still works', 4)));
});

test('when a hash is computed, then the event loop keeps turning meanwhile (bcrypt never runs on it)', async (t) => {
  let turns = 0;
  let hashing = true;
  const spin = () => {
    turns++;
    if (hashing) setImmediate(spin);
  };
  setImmediate(spin);
  const hash = await hashPassword('a-password', 10);
  hashing = false;
  t.true(turns > 0, 'the event loop turned while the hash was computed');
  t.true(await verifyPassword('a-password', hash));
});

test('when more tasks than the limit are asked at once, then at most the limit run together and every one completes, in the order asked', async (t) => {
  const limited = limitConcurrency(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const results = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      limited(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return i;
      }),
    ),
  );
  t.deepEqual(results, [0, 1, 2, 3, 4, 5, 6]);
  t.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  t.is(most, 2);
});

test('when a task fails, then its slot is given back: the tasks waiting behind it still run', async (t) => {
  const limited = limitConcurrency(1);
  const failing = limited(async () => {
    throw new Error('boom');
  });
  const next = limited(async () => 'served');
  await t.throwsAsync(failing, { message: 'boom' });
  t.is(await next, 'served');
  t.is(await limited(async () => 'and the one after'), 'and the one after');
});

test('when the cost is out of bcrypt range, then hashing is refused instead of clamped', async (t) => {
  await t.throwsAsync(hashPassword('x', 3), { instanceOf: RangeError });
  await t.throwsAsync(hashPassword('x', 32), { instanceOf: RangeError });
  t.true(HASH_CONCURRENCY >= 1);
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
