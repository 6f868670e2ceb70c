import { stripVTControlCharacters } from 'node:util';
import test from 'ava';
import { createProduct, createUser } from '../helpers/services.js';
import { cliInProcess, lines } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// Tables fit the terminal: wrapped or cut cells, short dates; --json keeps every value whole.
let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;
const longName = `The Extraordinarily Long Named Perpetual Calendar Minute Repeater Grand Complication ${'X'.repeat(40)}`;
const longEmail = `${'someone.with.a.very.long.address'.repeat(3)}@example.com`;

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
  await createProduct(database.db, { name: longName, price: '123456.78', stock: 3, description: 'wide' });
  await createUser(database.db, { username: 'wide_user', email: longEmail, password: 'long-enough-pw' });
});
test.after.always(() => database?.drop());

const widest = (text: string) => Math.max(...lines(text).map((l) => stripVTControlCharacters(l).length));

for (const [what, args] of [
  ['products list', ['products', 'list']],
  ['users list', ['users', 'list']],
  ['doctor', ['doctor']],
  ['migrate --status', ['migrate', '--status']],
] as const) {
  test(`when ${what} runs in an 80-column terminal, then no line is wider than 80`, async (t) => {
    const r = await cli([...args], { tty: true, columns: 80 });
    t.true(r.code === 0 || what === 'doctor', r.stderr);
    t.true(widest(r.stdout) <= 80, r.stdout);
  });
}

test('when products list runs in a narrow terminal, then dates are short and the long name is wrapped, and --json has it whole', async (t) => {
  const r = await cli(['products', 'list'], { tty: true, columns: 70 });
  t.true(widest(r.stdout) <= 70, r.stdout);
  t.regex(r.stdout, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b/);
  t.notRegex(r.stdout, /\d{2}:\d{2}:\d{2}\.\d{3}/);
  t.regex(r.stdout, /Extraordinarily/);
  const json = await cli(['products', 'list', '--json'], { tty: true, columns: 70 });
  t.true((JSON.parse(json.stdout) as Array<{ name: string }>).some((p) => p.name === longName));
});

test('when the output is a pipe (no terminal width), then the table is not cut', async (t) => {
  const r = await cli(['users', 'list']);
  t.true(r.stdout.includes(longEmail), r.stdout);
});
