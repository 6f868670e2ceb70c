import test from 'ava';
import type { PublicUser } from '../../src/users/users.schemas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ANSI, cliInProcess, runCliInTerminal } from '../helpers/cli-in-process.js';
import { createUser, verifyCredentials } from '../helpers/services.js';

// Tests run concurrently: each uses its own usernames.
let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
});
test.after.always(() => database?.drop());

const userRow = (username: string) => database.db('users').where({ username }).first();
const newUser = (username: string, role: 'customer' | 'admin' = 'customer') =>
  createUser(database.db, { username, email: `${username}@example.com`, password: 'original-password', role });

test('when users add gets its password on stdin, then the account exists and the password works', async (t) => {
  const r = await cli(['users', 'add', '--username', 'alice', '--email', 'Alice@Example.com', '--password-stdin'], {
    input: 'correct horse battery\n',
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Created customer alice <alice@example\.com>/);
  const user = await verifyCredentials(database.db, 'alice', 'correct horse battery');
  t.is(user.email, 'alice@example.com');
  t.is(user.role, 'customer');
  // Only the one trailing newline was stripped.
  await t.throwsAsync(verifyCredentials(database.db, 'alice', 'correct horse battery\n'));
});

test('when users add is given --role admin and --json, then it prints the new account without its hash', async (t) => {
  const r = await cli(['users', 'add', '--username', 'adminuser', '--email', 'boss@example.com', '--role', 'admin', '--password-stdin', '--json'], {
    input: 'admin-password-1',
  });
  t.is(r.code, 0, r.stderr);
  const user = JSON.parse(r.stdout) as PublicUser;
  t.like(user, { username: 'adminuser', email: 'boss@example.com', role: 'admin' });
  t.false('password_hash' in user);
});

test('when users add has no terminal and no --password-stdin, then it exits 2 and creates nothing', async (t) => {
  const r = await cli(['users', 'add', '--username', 'nopass', '--email', 'nopass@example.com']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^watchstore: users add needs --password-stdin when not run interactively/);
  t.falsy(await userRow('nopass'));

  const bare = await cli(['users', 'add']);
  t.is(bare.code, 2);
  t.regex(bare.stderr, /needs --username, --email and --password-stdin/);
});

test('when users add gets invalid input, then it exits 2 and creates nothing', async (t) => {
  const short = await cli(['users', 'add', '--username', 'shorty', '--email', 'shorty@example.com', '--password-stdin'], { input: 'short\n' });
  t.is(short.code, 2);
  t.regex(short.stderr, /password/);
  const badEmail = await cli(['users', 'add', '--username', 'bademail', '--email', 'not-an-email', '--password-stdin'], { input: 'long-enough-pw\n' });
  t.is(badEmail.code, 2);
  const badRole = await cli(['users', 'add', '--username', 'badrole', '--email', 'badrole@example.com', '--role', 'owner', '--password-stdin'], {
    input: 'long-enough-pw\n',
  });
  t.is(badRole.code, 2);
  for (const name of ['shorty', 'bademail', 'badrole']) t.falsy(await userRow(name));
});

test('when users add names a username that is taken, then it exits 1', async (t) => {
  await newUser('taken');
  const r = await cli(['users', 'add', '--username', 'taken', '--email', 'other@example.com', '--password-stdin'], { input: 'long-enough-pw\n' });
  t.is(r.code, 1);
  t.regex(r.stderr, /^watchstore: That username is already taken\./);
  t.is((await userRow('taken')).email, 'taken@example.com');
});

test('when users list runs, then it shows accounts and never a password hash', async (t) => {
  await newUser('listed-one');
  await newUser('listed-admin', 'admin');
  const table = await cli(['users', 'list']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /listed-one/);
  t.notRegex(table.stdout, /\$2[aby]\$/);
  t.notRegex(table.stdout, ANSI);

  const json = await cli(['users', 'list', '--search', 'listed', '--json']);
  t.is(json.code, 0, json.stderr);
  t.notRegex(json.stdout, /password|\$2[aby]\$/);
  const users = JSON.parse(json.stdout) as PublicUser[];
  t.deepEqual(users.map((u) => u.username).sort(), ['listed-admin', 'listed-one']);

  const admins = JSON.parse((await cli(['users', 'list', '--search', 'listed', '--role', 'admin', '--json'])).stdout) as PublicUser[];
  t.deepEqual(
    admins.map((u) => u.username),
    ['listed-admin'],
  );
});

test('when users role runs, then the role changes; an unknown role exits 2', async (t) => {
  await newUser('promoted');
  const r = await cli(['users', 'role', 'promoted', 'admin']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /promoted is now an admin/);
  t.is((await userRow('promoted')).role, 'admin');

  const bad = await cli(['users', 'role', 'promoted', 'owner']);
  t.is(bad.code, 2);
  t.is((await userRow('promoted')).role, 'admin');

  const missing = await cli(['users', 'role', 'nobody-here', 'admin']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /User "nobody-here" not found/);
});

test('when users passwd gets a new password on stdin, then only the new password works', async (t) => {
  await newUser('changer');
  const r = await cli(['users', 'passwd', 'changer', '--password-stdin'], { input: 'brand-new-password\n' });
  t.is(r.code, 0, r.stderr);
  t.truthy(await verifyCredentials(database.db, 'changer', 'brand-new-password'));
  await t.throwsAsync(verifyCredentials(database.db, 'changer', 'original-password'), { message: /Invalid login or password/ });
});

test('when users passwd has no terminal and no --password-stdin, then it exits 2 and the password is unchanged', async (t) => {
  await newUser('unchanged');
  const r = await cli(['users', 'passwd', 'unchanged']);
  t.is(r.code, 2);
  t.regex(r.stderr, /users passwd needs --password-stdin when not run interactively/);
  t.truthy(await verifyCredentials(database.db, 'unchanged', 'original-password'));
});

test('when users remove runs without --yes and without a terminal, then it exits 2 and the account stays', async (t) => {
  await newUser('keeper');
  const r = await cli(['users', 'remove', 'keeper']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^watchstore: users remove needs --yes when not run interactively\./);
  t.truthy(await userRow('keeper'));
});

test('when users remove runs with --yes, then the account is gone; a missing one exits 1', async (t) => {
  await newUser('leaver');
  const r = await cli(['users', 'remove', 'leaver', '--yes']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Removed customer leaver/);
  t.falsy(await userRow('leaver'));

  const again = await cli(['users', 'remove', 'leaver', '--yes']);
  t.is(again.code, 1);
  t.regex(again.stderr, /User "leaver" not found/);
});

test('when users add runs in a terminal without flags, then it asks for everything and never shows the password', async (t) => {
  const r = await runCliInTerminal(['users', 'add'], {
    env: { DATABASE_URL: database.url },
    answers: [
      { when: /Username:/, type: 'prompted\r' },
      { when: /E-mail:/, type: 'prompted@example.com\r' },
      { when: /Password/, type: 'typed-in-secret\r' },
      { when: /Repeat it:/, type: 'typed-in-secret\r' },
    ],
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Created customer .*prompted/);
  t.notRegex(r.stdout + r.stderr, /typed-in-secret/);
  t.regex(r.stderr, /\*{15}/);
  t.truthy(await verifyCredentials(database.db, 'prompted', 'typed-in-secret'));
});

test('when users remove runs in a terminal, then it asks first: no keeps the account, yes removes it', async (t) => {
  await newUser('asked');
  const env = { DATABASE_URL: database.url };
  const no = await runCliInTerminal(['users', 'remove', 'asked'], { env, answers: [{ when: /Remove customer asked/, type: 'n\r' }] });
  t.is(no.code, 1, no.stderr);
  t.regex(no.stderr, /Nothing removed/);
  t.truthy(await userRow('asked'));

  const yes = await runCliInTerminal(['users', 'remove', 'asked'], { env, answers: [{ when: /Remove customer asked/, type: 'y\r' }] });
  t.is(yes.code, 0, yes.stderr);
  t.falsy(await userRow('asked'));
});

test('when users add runs in a terminal and an answer is invalid, then that prompt says why at once and asks again', async (t) => {
  const r = await runCliInTerminal(['users', 'add'], {
    env: { DATABASE_URL: database.url },
    answers: [
      // A bad username is refused before the e-mail is asked for (it was checked only at the end).
      { when: /Username:/, type: 'x\r' },
      { when: /must be 3 to 50 characters/, type: '\x7fcheckedeach\r' },
      { when: /E-mail:/, type: 'not-an-email\r' },
      { when: /must be a valid e-mail address/, type: '\x15checked@example.com\r' },
      { when: /Password/, type: 'short\r' },
      { when: /must be at least 8 characters/, type: '\x15long-enough-secret\r' },
      { when: /Repeat it:/, type: 'long-enough-secret\r' },
    ],
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /must be 3 to 50 characters[\s\S]*E-mail:/);
  t.regex(r.stderr, /must be a valid e-mail address[\s\S]*Password/);
  t.truthy(await verifyCredentials(database.db, 'checkedeach', 'long-enough-secret'));
});

test('when Ctrl-C is pressed at a users add prompt, then the CLI exits 130 and creates nothing', async (t) => {
  const r = await runCliInTerminal(['users', 'add'], {
    env: { DATABASE_URL: database.url },
    answers: [
      { when: /Username:/, type: 'interrupted\r' },
      { when: /E-mail:/, type: '\x03' },
    ],
  });
  t.is(r.code, 130, r.stderr);
  t.regex(r.stderr, /watchstore: canceled\./);
  t.falsy(await userRow('interrupted'));
});
