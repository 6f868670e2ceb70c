/**
 * The refresh grace window (REFRESH_REUSE_GRACE_SECONDS, docs/api.md "Sessions"): a refresh token
 * rotated moments ago and presented again returns the same successor; after the window, reuse
 * revokes the family. Over real HTTP, on SQLite or MariaDB (TEST_DB=mysql).
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { toDbTime } from '../../src/db/values.js';
import { startApp, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';

let app: TestApp;
test.before(async () => {
  app = await startApp({
    env: {
      ...UNLIMITED_AUTH,
      REFRESH_REUSE_GRACE_SECONDS: '30',
    },
  });
});
test.after.always(async () => {
  await app?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
let seq = 0;

async function signedUp() {
  const c = app.client();
  const n = ++seq;
  const res = await c.post('/api/auth/signup', {
    username: `grace${process.pid}_${n}`,
    email: `grace${process.pid}_${n}@example.com`,
    password: 'correct horse 1',
  });
  if (res.status !== 201) throw new Error(res.text);
  return c;
}

async function familyOf(token: string) {
  const row = await app.t
    .db('refresh_tokens')
    .where({ token_hash: sha256(token) })
    .first();
  return app.t.db('refresh_tokens').where({ family_id: row.family_id });
}

test('when 8 requests refresh one cookie at once (again and again), then all answer 200 with the same successor and the family stays alive', async (t) => {
  for (let round = 0; round < 6; round++) {
    const c = await signedUp();
    const token = c.cookies.get('refresh_token')!;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${token}` } })),
    );
    t.deepEqual(
      results.map((r) => r.status),
      Array(8).fill(200),
      `round ${round}: ${results.map((r) => r.text).join(' | ')}`,
    );
    const successors = new Set(results.map((r) => /refresh_token=([^;]+)/.exec(r.headers.getSetCookie().join('\n'))?.[1]));
    t.is(successors.size, 1, 'one successor for all');
    const [successor] = [...successors] as string[];
    t.not(successor, token);
    const rows = await familyOf(token);
    t.is(rows.length, 2, 'one rotation happened');
    t.is(rows.filter((r: { revoked_at: unknown }) => r.revoked_at === null).length, 1, 'the family is alive');
    const next = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${successor}` } });
    t.is(next.status, 200, next.text);
  }
});

test('when a token rotated twice within the window is presented, then the newest token of the chain comes back', async (t) => {
  const c = await signedUp();
  const first = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/auth/refresh')).status, 200);
  t.is((await c.post('/api/auth/refresh')).status, 200);
  const newest = c.cookies.get('refresh_token')!;
  const late = app.client();
  const res = await late.request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${first}` } });
  t.is(res.status, 200, res.text);
  t.is(late.cookies.get('refresh_token'), newest);
});

test('when a rotated token is presented after the grace window, then the family is revoked (TOKEN_REUSED) and its newest token stops working', async (t) => {
  const c = await signedUp();
  const old = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/auth/refresh')).status, 200);
  // The rotation happened 31 s ago, as far as the database knows.
  await app.t
    .db('refresh_tokens')
    .where({ token_hash: sha256(old) })
    .update({ revoked_at: toDbTime(new Date(Date.now() - 31_000)) });
  const thief = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${old}` } });
  t.is(thief.status, 401, thief.text);
  t.is(thief.body.error.code, 'TOKEN_REUSED');
  const rows = await familyOf(old);
  t.true(rows.every((r: { revoked_at: unknown }) => r.revoked_at !== null));
  t.is((await c.post('/api/auth/refresh')).status, 401);
});

test('when a signed-out token is presented within the window, then it is not renewed', async (t) => {
  const c = await signedUp();
  const old = c.cookies.get('refresh_token')!;
  t.is((await c.post('/api/auth/refresh')).status, 200);
  t.is((await c.post('/api/auth/logout')).status, 204);
  const res = await app.client().request('POST', '/api/auth/refresh', { headers: { cookie: `refresh_token=${old}` } });
  t.is(res.status, 401, res.text);
});
