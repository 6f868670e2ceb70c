import { readFileSync, readdirSync } from 'node:fs';
import test from 'ava';
import bcrypt from 'bcrypt';
import { hashPassword, verifyPassword } from '../../src/users/password.js';

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
  t.deepEqual(checks, passwords.map(() => true));
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
