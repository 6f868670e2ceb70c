import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createEmptyDatabase } from '../helpers/db.js';
import { ANSI, lines, runCli } from '../helpers/cli-in-process.js';

test('when the database cannot be reached, then the command exits 1 with one line naming where, without password or stack', async (t) => {
  const r = await runCli(['products', 'list'], { env: { DATABASE_URL: 'mysql://root:s3cret-pw@127.0.0.1:1/x' } });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.deepEqual(lines(r.stderr), ['watchstore: cannot reach the database at mysql://root@127.0.0.1:1/x: ECONNREFUSED']);
  t.notRegex(r.stderr, /s3cret-pw/);
});

test('when the database cannot be reached with --json, then stdout stays empty', async (t) => {
  const r = await runCli(['users', 'list', '--json'], { env: { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' } });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(lines(r.stderr).length, 1, r.stderr);
});

test('when DEBUG=watchstore is set, then the failure comes with its stack', async (t) => {
  const r = await runCli(['products', 'list'], { env: { DATABASE_URL: 'mysql://root@127.0.0.1:1/x', DEBUG: 'watchstore' } });
  t.is(r.code, 1);
  t.regex(r.stderr, /^watchstore: cannot reach the database/m);
  t.regex(r.stderr, /^\s+at /m);
});

test('when the configuration is invalid, then the command exits 2 naming the variable', async (t) => {
  const r = await runCli(['products', 'list'], { env: { STORE_CURRENCY: 'dollars', DATABASE_URL: 'mysql://root@127.0.0.1:1/x' } });
  t.is(r.code, 2);
  t.deepEqual(lines(r.stderr).length, 1, r.stderr);
  t.regex(r.stderr, /^watchstore: Invalid configuration: STORE_CURRENCY /);
  t.notRegex(r.stderr, ANSI);
});

test('when DATABASE_URL has an unknown scheme, then the command exits 2 naming DATABASE_URL', async (t) => {
  const r = await runCli(['migrate'], { env: { DATABASE_URL: 'postgres://localhost/x' } });
  t.is(r.code, 2);
  t.regex(r.stderr, /^watchstore: Invalid configuration: DATABASE_URL /);
});

test('when the database has no tables yet, then a command exits 1 and says to run migrate', async (t) => {
  const empty = await createEmptyDatabase();
  t.teardown(() => empty.drop());
  const r = await runCli(['products', 'list'], { env: { DATABASE_URL: empty.url } });
  t.is(r.code, 1);
  t.is(lines(r.stderr).length, 1, r.stderr);
  t.regex(r.stderr, /not migrated.*run `watchstore migrate`/);
  // The message names the database, so an operator sees which file or server it looked at.
  t.true(
    r.stderr.includes(empty.config.client === 'sqlite' ? `sqlite:${empty.config.filename}` : `/${(empty.config as { database: string }).database}`),
    r.stderr,
  );
});

test('when no DATABASE_URL is set, then the default SQLite file is under DATA_DIR (not the working directory) and messages name it', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-datadir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runCli(['products', 'list'], { env: { DATA_DIR: dir } });
  t.is(r.code, 1);
  t.deepEqual(lines(r.stderr), [
    `watchstore: the database sqlite:${path.join(dir, 'watchstore.sqlite')} is not migrated (no such table: products): run \`watchstore migrate\``,
  ]);
});

test('when the MariaDB database does not exist, then the command says so instead of "cannot reach"', async (t) => {
  const server = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
  const r = await runCli(['products', 'list'], { env: { DATABASE_URL: `${server.replace(/\/$/, '')}/ws_no_such_database_${process.pid}` } });
  t.is(r.code, 1);
  t.is(lines(r.stderr).length, 1, r.stderr);
  t.regex(r.stderr, new RegExp(`^watchstore: the database mysql://.*/ws_no_such_database_${process.pid} does not exist: create it`));
  t.notRegex(r.stderr, /cannot reach/);
});
