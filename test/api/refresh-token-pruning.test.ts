/**
 * Refresh tokens do not pile up: sign-in, sign-up and refresh delete the user's expired tokens,
 * over real HTTP on SQLite or MariaDB (TEST_DB=mysql). Revoked tokens that have not expired are
 * kept, because they are what catches a stolen token being reused.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import test from 'ava';
import { toDbTime } from '../../src/db/values.js';
import { startApp, type Client, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';

let app: TestApp;
test.before(async () => {
  app = await startApp({
    env: {
      ...UNLIMITED_AUTH,
    },
  });
});
test.after.always(async () => {
  await app?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const DAY = 24 * 3600 * 1000;
let n = 0;

async function account(): Promise<{ c: Client; id: number; username: string; password: string }> {
  const username = `prune_${++n}_${process.pid}`;
  const password = 'correct horse 1';
  const c = app.client();
  const res = await c.post('/api/auth/signup', { username, email: `${username}@example.com`, password });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { c, id: res.body.user.id, username, password };
}

/** A token row written straight into the table, as an old session would have left it. */
async function oldToken(userId: number, f: { expiresAgoMs: number; revoked?: boolean }): Promise<{ id: number; token: string }> {
  const token = randomBytes(32).toString('base64url');
  const expires = new Date(Date.now() - f.expiresAgoMs);
  const [id] = await app.t.db('refresh_tokens').insert({
    user_id: userId,
    token_hash: sha256(token),
    family_id: randomUUID(),
    expires_at: toDbTime(expires),
    revoked_at: f.revoked ? toDbTime(new Date(expires.getTime() - 6 * DAY)) : null,
    created_at: toDbTime(new Date(expires.getTime() - 7 * DAY)),
  });
  return { id: Number(id), token };
}

const idsOf = async (userId: number) => (await app.t.db('refresh_tokens').where({ user_id: userId }).orderBy('id').pluck('id')).map(Number);

test('when a user signs in, then their expired tokens (revoked or not) are deleted and their live ones kept', async (t) => {
  const u = await account();
  const other = await account();
  const expired = await oldToken(u.id, { expiresAgoMs: DAY });
  const expiredRevoked = await oldToken(u.id, { expiresAgoMs: 30 * DAY, revoked: true });
  const stillValidRevoked = await oldToken(u.id, { expiresAgoMs: -3 * DAY, revoked: true });
  const othersExpired = await oldToken(other.id, { expiresAgoMs: DAY });
  const fromSignup = await idsOf(u.id);
  t.is(fromSignup.length, 4);

  const res = await app.client().post('/api/auth/signin', { login: u.username, password: u.password });
  t.is(res.status, 200, res.text);

  const left = await idsOf(u.id);
  t.false(left.includes(expired.id), 'expired token deleted');
  t.false(left.includes(expiredRevoked.id), 'long-revoked token deleted');
  t.true(left.includes(stillValidRevoked.id), 'a revoked token that has not expired is kept');
  t.is(left.length, 3, "sign-up's token, the kept revoked one, and the new sign-in's");
  t.true((await idsOf(other.id)).includes(othersExpired.id), "another user's rows are not touched");

  // The kept revoked token still does its job: presenting it is reuse.
  const reuse = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${stillValidRevoked.token}` } });
  t.is(reuse.status, 401);
  t.is(reuse.body.error.code, 'TOKEN_REUSED');
});

test('when a session refreshes, then the user’s expired tokens go and the rotation chain stays bounded to the live ones', async (t) => {
  const u = await account();
  const expired = await oldToken(u.id, { expiresAgoMs: 2 * DAY, revoked: true });
  t.is((await idsOf(u.id)).length, 2);

  const res = await u.c.post('/api/auth/refresh');
  t.is(res.status, 200, res.text);
  const left = await idsOf(u.id);
  t.false(left.includes(expired.id));
  // Sign-up's token (now revoked, not expired: kept for reuse detection) and its successor.
  t.is(left.length, 2);
  const rows = await app.t.db('refresh_tokens').where({ user_id: u.id }).orderBy('id');
  t.not(rows[0].revoked_at, null);
  t.is(rows[1].revoked_at, null);
  t.is(Number(rows[0].replaced_by_id), Number(rows[1].id));
});

test('when the same user signs in many times at once, then every sign-in succeeds while expired rows are deleted', async (t) => {
  const u = await account();
  for (let i = 0; i < 20; i++) await oldToken(u.id, { expiresAgoMs: (i + 1) * 3600 * 1000 });
  const results = await Promise.all(Array.from({ length: 10 }, () => app.client().post('/api/auth/signin', { login: u.username, password: u.password })));
  t.deepEqual(
    results.map((r) => r.status),
    Array(10).fill(200),
  );
  const left = await app.t.db('refresh_tokens').where({ user_id: u.id });
  t.is(left.length, 11, "sign-up's token and one per sign-in; all 20 expired rows are gone");
  t.true(left.every((r) => Date.parse(`${String(r.expires_at).replace(' ', 'T')}Z`) > Date.now()));
});
