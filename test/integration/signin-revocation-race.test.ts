/**
 * A sign-in racing a revocation (docs/data.md, "Session revocation"): the password is checked
 * (and the session epoch read) before a password reset or a disable commits, and the session's
 * refresh token is inserted after it. The revocation's "revoke every refresh token" did not see
 * that token, so the sign-in must end it itself: otherwise the session outlives the reset.
 *
 * The interleaving is forced, not hoped for. SQLite: the revocation runs on a second connection
 * of the file, synchronously, just before the sign-in's refresh-token insert is executed (knex's
 * `query` event). MariaDB: the revocation runs in a transaction left open until the sign-in's
 * insert is running (it waits on the revocation's lock on the user's row).
 */
import Database from 'better-sqlite3';
import test from 'ava';
import { refresh, signin } from '../../src/auth/auth.service.js';
import { sessionRevocationsRepository } from '../../src/auth/session-revocations.repository.js';
import { getConfig } from '../../src/config.js';
import { createDb } from '../../src/db/connection.js';
import { toDbTime } from '../../src/db/values.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createUser } from '../helpers/services.js';

let t0: TestDatabase;
test.before(async () => {
  t0 = await createTestDatabase();
});
test.after.always(async () => {
  await t0?.drop();
});

const PASSWORD = 'correct horse 1';

/** Runs `signin` with the user's sessions revoked between its password check and its token insert. */
async function signinRacingRevocation(userId: number, login: string): Promise<unknown> {
  const config = getConfig();
  if (t0.config.client === 'sqlite') {
    const other = new Database(t0.config.filename);
    let done = false;
    const onQuery = (q: { sql: string }) => {
      if (done || !/^insert into [`"]refresh_tokens[`"]/i.test(q.sql)) return;
      done = true;
      const at = toDbTime(new Date());
      other.transaction(() => {
        other.prepare('UPDATE users SET session_epoch = session_epoch + 1, sessions_revoked_at = ? WHERE id = ?').run(at, userId);
        other.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(at, userId);
        other.prepare('UPDATE auth_revision SET revision = revision + 1 WHERE id = 1').run();
      })();
    };
    t0.db.on('query', onQuery);
    try {
      return await signin(t0.db, { login, password: PASSWORD }, config).catch((err: unknown) => err);
    } finally {
      t0.db.off('query', onQuery);
      other.close();
    }
  }
  const holder = createDb(t0.config);
  try {
    const trx = await holder.transaction();
    await sessionRevocationsRepository.revokeAll(trx, userId, new Date());
    const result = signin(t0.db, { login, password: PASSWORD }, config).catch((err: unknown) => err);
    // The sign-in has read the user (before the commit) once its insert is running: it cannot
    // finish while the revocation holds the user's row. (Seen in PROCESSLIST; INNODB_TRX did not
    // always list such an insert as LOCK WAIT while other databases were busy, and the wait hung.)
    const [[{ db: name }]] = (await holder.raw('SELECT DATABASE() AS db')) as [[{ db: string }]];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [rows] = (await holder.raw(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
         WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE 'insert into %refresh_tokens%'`,
        [name],
      )) as [Array<{ n: number | string }>];
      if (Number(rows[0].n) > 0) break;
      if (Date.now() > deadline) throw new Error('the sign-in never reached its refresh-token insert');
      await new Promise((r) => setTimeout(r, 10));
    }
    await trx.commit();
    return await result;
  } finally {
    await holder.destroy();
  }
}

test('when a password reset commits between a sign-in’s password check and its refresh-token insert, then that sign-in’s refresh token does not work', async (t) => {
  const user = await createUser(t0.db, { username: 'racer', email: null, password: PASSWORD, role: 'customer' });
  const outcome = await signinRacingRevocation(user.id, 'racer');
  const epoch = Number((await t0.db('users').where({ id: user.id }).first('session_epoch')).session_epoch);
  t.is(epoch, 1, 'the revocation happened');
  const session = outcome as { refreshToken?: string };
  if (session.refreshToken) {
    const again = await refresh(t0.db, session.refreshToken, getConfig()).then(
      () => 'refreshed',
      (err: { code?: string }) => err.code,
    );
    t.not(again, 'refreshed', 'a session begun before the revocation was renewed after it');
  }
  const active = await t0.db('refresh_tokens').where({ user_id: user.id }).whereNull('revoked_at');
  t.deepEqual(active, [], 'no refresh token of the user is active');
});
