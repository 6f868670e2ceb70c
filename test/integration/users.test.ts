/**
 * Accounts against a real database (SQLite, or MariaDB with TEST_DB=mysql). Every test uses its
 * own usernames and e-mail addresses, so they run concurrently on the file's one database.
 */
import test from 'ava';
import bcrypt from 'bcrypt';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { getUser, getUserByUsername, listUsers, removeUser, setRole } from '../../src/users/users.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createUser, setPassword, verifyCredentials } from '../helpers/services.js';

let tdb: TestDatabase;

test.before(async () => {
  tdb = await createTestDatabase();
});

test.after.always(async () => {
  await tdb?.drop();
});

const PASSWORD = 'correct horse battery';

async function appCode(t: import('ava').ExecutionContext, promise: Promise<unknown>, code: ErrorCode) {
  const err = await t.throwsAsync(promise, { instanceOf: AppError });
  t.is(err?.code, code, err?.message);
  return err;
}

function user(name: string, extra: Record<string, unknown> = {}) {
  return { username: name, email: `${name}@example.com`, password: PASSWORD, ...extra };
}

// --- createUser -------------------------------------------------------------------------------

test('when a user is created, then the e-mail is stored lower-cased and the role defaults to customer', async (t) => {
  const u = await createUser(tdb.db, { username: 'alice', email: '  Alice.Smith@Example.COM ', password: PASSWORD });
  t.true(Number.isInteger(u.id) && u.id > 0);
  t.like(u, { username: 'alice', email: 'alice.smith@example.com', role: 'customer' });
  t.false(Number.isNaN(Date.parse(u.created_at)));
  const row = await tdb.db('users').where({ id: u.id }).first();
  t.is(row.email, 'alice.smith@example.com');
  t.is(row.role, 'customer');
  t.deepEqual(await getUser(tdb.db, u.id), u);
});

test('when a user is created, then the password is stored as a bcrypt hash and never returned', async (t) => {
  const u = await createUser(tdb.db, user('bob'));
  t.deepEqual(Object.keys(u).sort(), ['created_at', 'email', 'id', 'role', 'username']);
  t.false('password_hash' in u);
  t.false(JSON.stringify(u).includes('$2'));
  const row = await tdb.db('users').where({ id: u.id }).first();
  t.regex(row.password_hash, /^\$2[aby]\$04\$[./A-Za-z0-9]{53}$/);
  t.false(row.password_hash.includes(PASSWORD));
  t.true(await bcrypt.compare(PASSWORD, row.password_hash));
  for (const read of [await getUser(tdb.db, u.id), await getUserByUsername(tdb.db, 'bob'), await verifyCredentials(tdb.db, 'bob', PASSWORD)]) {
    t.false('password_hash' in read);
  }
  t.false((await listUsers(tdb.db, { search: 'bob' })).some((x) => 'password_hash' in x));
});

test('when a user is created as admin, then the role is admin', async (t) => {
  const u = await createUser(tdb.db, user('carol-admin', { role: 'admin' }));
  t.is(u.role, 'admin');
  t.is((await tdb.db('users').where({ id: u.id }).first()).role, 'admin');
});

test('when the username is already taken, then USERNAME_TAKEN and no second row', async (t) => {
  await createUser(tdb.db, user('dave'));
  await appCode(t, createUser(tdb.db, { username: 'dave', email: 'other-dave@example.com', password: PASSWORD }), 'USERNAME_TAKEN');
  t.is((await tdb.db('users').where({ username: 'dave' })).length, 1);
  t.is((await tdb.db('users').where({ email: 'other-dave@example.com' })).length, 0);
});

test('when the e-mail is already registered in another case, then EMAIL_TAKEN', async (t) => {
  await createUser(tdb.db, { username: 'erin', email: 'Erin@Example.com', password: PASSWORD });
  await appCode(t, createUser(tdb.db, { username: 'erin2', email: 'ERIN@example.COM', password: PASSWORD }), 'EMAIL_TAKEN');
  t.is((await tdb.db('users').where({ username: 'erin2' })).length, 0);
});

test('when a username differs from a taken one only in case, then USERNAME_TAKEN on both dialects', async (t) => {
  await createUser(tdb.db, user('Nina'));
  await appCode(t, createUser(tdb.db, { username: 'nina', email: 'nina-two@example.com', password: PASSWORD }), 'USERNAME_TAKEN');
  t.is((await tdb.db('users').where('email', 'nina-two@example.com')).length, 0);
});

test('when ten sign-ups race for the same username, then exactly one succeeds and the rest get USERNAME_TAKEN', async (t) => {
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => createUser(tdb.db, { username: 'racer', email: `racer${i}@example.com`, password: PASSWORD })),
  );
  const winners = results.filter((r) => r.status === 'fulfilled');
  const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(winners.length, 1);
  t.is(losers.length, 9);
  for (const r of losers) {
    t.true(r.reason instanceof AppError, `a domain error, not a raw database error: ${String(r.reason)}`);
    t.is((r.reason as AppError).code, 'USERNAME_TAKEN');
  }
  t.is((await tdb.db('users').where({ username: 'racer' })).length, 1);
});

test('when sign-ups race for a username that contains "email", then the losers still get USERNAME_TAKEN', async (t) => {
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => createUser(tdb.db, { username: 'email.fan', email: `fan${i}@example.com`, password: PASSWORD })),
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as AppError).code);
  t.deepEqual(codes, Array(9).fill('USERNAME_TAKEN'));
});

test('when ten sign-ups race for the same e-mail, then exactly one succeeds and the rest get EMAIL_TAKEN', async (t) => {
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      createUser(tdb.db, { username: `shared${i}`, email: i % 2 ? 'Shared@Example.com' : 'shared@example.com', password: PASSWORD }),
    ),
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as AppError).code);
  t.deepEqual(codes, Array(9).fill('EMAIL_TAKEN'));
  t.is((await tdb.db('users').where({ email: 'shared@example.com' })).length, 1);
});

const invalidSignups: Array<[string, Record<string, unknown>]> = [
  ['a two-character username', { username: 'ab' }],
  ['a 51-character username', { username: 'u'.repeat(51) }],
  ['a username with a space', { username: 'bad name' }],
  ['a username with a quote', { username: "o'neil" }],
  ['a username that is an e-mail', { username: 'x@example.com' }],
  ['a missing username', { username: undefined }],
  ['an e-mail without @', { email: 'not-an-email' }],
  ['an empty e-mail', { email: '' }],
  ['an e-mail over 255 characters', { email: `${'e'.repeat(250)}@example.com` }],
  ['a 7-character password', { password: 'seven77' }],
  ['a 73-byte password', { password: 'p'.repeat(73) }],
  ['a 37-character password of 74 bytes', { password: 'é'.repeat(37) }],
  ['a missing password', { password: undefined }],
  ['an unknown role', { role: 'superuser' }],
];

for (const [what, patch] of invalidSignups) {
  test(`when a sign-up has ${what}, then VALIDATION_FAILED and nothing is written`, async (t) => {
    const name = `inv${invalidSignups.findIndex(([w]) => w === what)}`;
    const input = { ...user(name), ...patch };
    await appCode(t, createUser(tdb.db, input as never), 'VALIDATION_FAILED');
    t.is(
      (
        await tdb
          .db('users')
          .where({ username: String(input.username ?? name) })
          .orWhere({ email: String(input.email) })
      ).length,
      0,
    );
  });
}

test('when the password is exactly 8 characters or exactly 72 bytes, then it is accepted and works', async (t) => {
  await createUser(tdb.db, user('eight', { password: '8chars!!' }));
  t.is((await verifyCredentials(tdb.db, 'eight', '8chars!!')).username, 'eight');
  const long = 'é'.repeat(36); // 72 bytes
  await createUser(tdb.db, user('seventytwo', { password: long }));
  t.is((await verifyCredentials(tdb.db, 'seventytwo', long)).username, 'seventytwo');
  await appCode(t, verifyCredentials(tdb.db, 'seventytwo', `${'é'.repeat(35)}e`), 'INVALID_CREDENTIALS');
});

// --- verifyCredentials ------------------------------------------------------------------------

test('when the right password is given with the username or the e-mail in any case, then the user is returned', async (t) => {
  const created = await createUser(tdb.db, { username: 'frank', email: 'Frank@Example.com', password: PASSWORD });
  t.deepEqual(await verifyCredentials(tdb.db, 'frank', PASSWORD), created);
  t.deepEqual(await verifyCredentials(tdb.db, 'frank@example.com', PASSWORD), created);
  t.deepEqual(await verifyCredentials(tdb.db, 'FRANK@EXAMPLE.COM', PASSWORD), created);
  t.deepEqual(await verifyCredentials(tdb.db, '  Frank@example.Com ', PASSWORD), created);
});

test('when the password is wrong or the user unknown, then INVALID_CREDENTIALS with the same message', async (t) => {
  await createUser(tdb.db, user('grace'));
  const wrong = await appCode(t, verifyCredentials(tdb.db, 'grace', 'not the password'), 'INVALID_CREDENTIALS');
  const wrongByEmail = await appCode(t, verifyCredentials(tdb.db, 'grace@example.com', `${PASSWORD} `), 'INVALID_CREDENTIALS');
  const unknown = await appCode(t, verifyCredentials(tdb.db, 'nobody-here', PASSWORD), 'INVALID_CREDENTIALS');
  const unknownEmail = await appCode(t, verifyCredentials(tdb.db, 'nobody@example.com', PASSWORD), 'INVALID_CREDENTIALS');
  t.is(wrong?.message, unknown?.message);
  t.is(wrongByEmail?.message, unknownEmail?.message);
  await appCode(t, verifyCredentials(tdb.db, 'grace', ''), 'INVALID_CREDENTIALS');
  await appCode(t, verifyCredentials(tdb.db, '', PASSWORD), 'INVALID_CREDENTIALS');
  await appCode(t, verifyCredentials(tdb.db, 'grace', `${PASSWORD}${'x'.repeat(80)}`), 'INVALID_CREDENTIALS');
  await appCode(t, verifyCredentials(tdb.db, 'g'.repeat(300), PASSWORD), 'INVALID_CREDENTIALS');
  await appCode(t, verifyCredentials(tdb.db, undefined as unknown as string, PASSWORD), 'INVALID_CREDENTIALS');
});

test('when the login is an SQL injection, then INVALID_CREDENTIALS and never a user', async (t) => {
  await createUser(tdb.db, { username: 'admin', email: 'admin@example.com', password: 'the-real-admin-password', role: 'admin' });
  const forgedPassword = 'forged-password';
  const forgedHash = await bcrypt.hash(forgedPassword, 4);
  const logins = [
    "' OR '1'='1",
    "' OR '1'='1' --",
    "admin'--",
    "admin' #",
    "admin'/*",
    `x' UNION SELECT 1,'admin','a@b.c','${forgedHash}','admin',now(),now() --`,
    `x' UNION SELECT 1,'admin','a@b.c','${forgedHash}','admin',now(),now() -- `,
    "'; DROP TABLE users; --",
    '" OR ""="',
    'admin\\',
  ];
  for (const login of logins) {
    for (const password of [forgedPassword, "' OR '1'='1", 'anything']) {
      await appCode(t, verifyCredentials(tdb.db, login, password), 'INVALID_CREDENTIALS');
    }
  }
  t.true(await tdb.db.schema.hasTable('users'), 'the users table is intact');
  t.is((await tdb.db('users').where({ role: 'admin', username: 'admin' })).length, 1);
  t.is((await tdb.db('users').where({ email: 'a@b.c' })).length, 0);
  t.is((await verifyCredentials(tdb.db, 'admin', 'the-real-admin-password')).role, 'admin');
});

// --- setRole / setPassword / removeUser -------------------------------------------------------

test('when a role is set, then it is stored and returned', async (t) => {
  const u = await createUser(tdb.db, user('heidi'));
  t.is((await setRole(tdb.db, 'heidi', 'admin')).role, 'admin');
  t.is((await getUser(tdb.db, u.id)).role, 'admin');
  t.is((await setRole(tdb.db, 'heidi', 'customer')).role, 'customer');
  t.is((await getUser(tdb.db, u.id)).role, 'customer');
});

test('when a role is unknown or the user does not exist, then VALIDATION_FAILED or NOT_FOUND', async (t) => {
  const u = await createUser(tdb.db, user('ivan'));
  await appCode(t, setRole(tdb.db, 'ivan', 'root'), 'VALIDATION_FAILED');
  await appCode(t, setRole(tdb.db, 'nobody-ivan', 'admin'), 'NOT_FOUND');
  t.is((await getUser(tdb.db, u.id)).role, 'customer');
});

test('when a password is set, then the new one works and the old one does not', async (t) => {
  await createUser(tdb.db, user('judy'));
  const before = (await tdb.db('users').where({ username: 'judy' }).first()).password_hash;
  const r = await setPassword(tdb.db, 'judy', 'a brand new secret');
  t.false('password_hash' in r);
  t.is((await verifyCredentials(tdb.db, 'judy', 'a brand new secret')).username, 'judy');
  await appCode(t, verifyCredentials(tdb.db, 'judy', PASSWORD), 'INVALID_CREDENTIALS');
  const after = (await tdb.db('users').where({ username: 'judy' }).first()).password_hash;
  t.not(after, before);
  t.regex(after, /^\$2[aby]\$04\$/);
});

test('when a new password is too short or too long, then VALIDATION_FAILED and the old one still works', async (t) => {
  await createUser(tdb.db, user('ken'));
  await appCode(t, setPassword(tdb.db, 'ken', 'short'), 'VALIDATION_FAILED');
  await appCode(t, setPassword(tdb.db, 'ken', 'x'.repeat(73)), 'VALIDATION_FAILED');
  await appCode(t, setPassword(tdb.db, 'nobody-ken', 'long enough'), 'NOT_FOUND');
  t.is((await verifyCredentials(tdb.db, 'ken', PASSWORD)).username, 'ken');
});

test('when a user is removed, then they are gone and cannot sign in', async (t) => {
  const u = await createUser(tdb.db, user('leo'));
  await tdb.db('cart_items').insert({
    user_id: u.id,
    product_id: await tdb
      .db('products')
      .insert({ name: 'Leo cart', price_cents: 1 }, ['id'])
      .then((r) => Number(typeof r[0] === 'object' ? r[0].id : r[0])),
    quantity: 1,
  });
  t.is((await removeUser(tdb.db, 'leo')).username, 'leo');
  await appCode(t, getUser(tdb.db, u.id), 'NOT_FOUND');
  await appCode(t, getUserByUsername(tdb.db, 'leo'), 'NOT_FOUND');
  await appCode(t, verifyCredentials(tdb.db, 'leo', PASSWORD), 'INVALID_CREDENTIALS');
  t.is((await tdb.db('cart_items').where({ user_id: u.id })).length, 0, 'their cart goes with them');
  await appCode(t, removeUser(tdb.db, 'leo'), 'NOT_FOUND');
});

test('when a user with an order is removed, then CONFLICT and the user and order stay', async (t) => {
  const u = await createUser(tdb.db, user('mallory'));
  await tdb.db('orders').insert({ user_id: u.id, status: 'paid', total_cents: 129999, currency: 'usd' });
  await appCode(t, removeUser(tdb.db, 'mallory'), 'CONFLICT');
  t.deepEqual(await getUser(tdb.db, u.id), u);
  t.is((await tdb.db('orders').where({ user_id: u.id })).length, 1);
});

test('when users are listed by role or search, then only the matching ones come back', async (t) => {
  await createUser(tdb.db, user('list_one'));
  await createUser(tdb.db, user('list-two', { role: 'admin' }));
  await createUser(tdb.db, user('listxthree'));
  t.deepEqual(
    (await listUsers(tdb.db, { search: 'list_' })).map((u) => u.username),
    ['list_one'],
    '_ is literal',
  );
  t.deepEqual(
    (await listUsers(tdb.db, { search: 'LIST-', role: 'admin' })).map((u) => u.username),
    ['list-two'],
  );
  t.true((await listUsers(tdb.db, { role: 'admin' })).every((u) => u.role === 'admin'));
  await appCode(t, listUsers(tdb.db, { role: 'owner' }), 'VALIDATION_FAILED');
});
