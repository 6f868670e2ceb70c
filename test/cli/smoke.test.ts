/**
 * The shipped CLI as a real process (bin/watchstore.js running dist/): what only a process can
 * show — pipes, terminals, signals, exit codes. Everything else is tested in-process
 * (test/helpers/cli-in-process.ts); help.test.ts covers --help, --version and lazy loading.
 */
import { spawn } from 'node:child_process';
import test from 'ava';
import { BIN, cliFor, lines, runCliInTerminal } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(() => database?.drop());

test('when the reader of stdout goes away (`orders show 1 | head -1`), then the CLI ends quietly with 0', async (t) => {
  const { order } = await placePendingOrder(database.db, { label: 'smoke', price: '10.00', stock: 5, quantity: 1 });
  const child = spawn(process.execPath, [BIN, 'orders', 'show', String(order.id)], {
    env: { ...process.env, DATABASE_URL: database.url, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // As `head -1`: read the first chunk, then close the pipe while the CLI still has a table to write.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(stderr, '', 'no EPIPE stack trace');
  t.is(code, 0);
});

test('when users add runs without a terminal and without flags, then it exits 2 with one line and asks nothing', async (t) => {
  const r = await cliFor(database.url)(['users', 'add']);
  t.is(r.code, 2);
  t.deepEqual(lines(r.stderr), ['watchstore: users add needs --username, --email and --password-stdin when not run interactively.']);
  t.is(r.stdout, '');
});

test('when Ctrl-C is pressed at a prompt in a real terminal, then the CLI exits 130', async (t) => {
  const r = await runCliInTerminal(['users', 'add'], {
    env: { DATABASE_URL: database.url },
    answers: [{ when: /Username:/, type: '\x03' }],
  });
  t.is(r.code, 130, r.stdout);
  t.regex(r.stdout, /watchstore: canceled\./);
});

test('when migrate --rollback runs in a real terminal and the answer is no, then nothing is rolled back', async (t) => {
  const r = await runCliInTerminal(['migrate', '--rollback'], {
    env: { DATABASE_URL: database.url },
    answers: [{ when: /Roll back, losing that data\?/, type: 'n\r' }],
  });
  t.is(r.code, 1, r.stdout);
  t.regex(r.stdout, /Nothing rolled back\./);
  t.true(await database.db.schema.hasTable('orders'));
});

test('when a command succeeds, fails, or is misused, then the exit codes are 0, 1 and 2', async (t) => {
  const cli = cliFor(database.url);
  t.is((await cli(['products', 'list', '--json'])).code, 0);
  t.is((await cli(['products', 'stock', '999999', '+1'])).code, 1);
  t.is((await cli(['products', 'stock', 'x', '+1'])).code, 2);
});
