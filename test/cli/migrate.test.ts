import test from 'ava';
import { createEmptyDatabase, type TestDatabase } from '../helpers/db.js';
import { cliInProcess, lines } from '../helpers/cli-in-process.js';
import { MIGRATION_COUNT } from '../helpers/migrations.js';

// One empty database walked through its life: the steps depend on each other, so serial.
const MIGRATIONS = MIGRATION_COUNT;
let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createEmptyDatabase();
  cli = cliInProcess(database);
});
test.after.always(() => database?.drop());

interface Status {
  name: string;
  applied: boolean;
}

test.serial('when migrate --status runs on an empty database, then every migration is listed as not applied', async (t) => {
  const table = await cli(['migrate', '--status']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /20261125000001_create_users\s+│ no/);
  t.regex(table.stdout, new RegExp(`\\b${MIGRATIONS} pending`));

  const json = await cli(['migrate', '--status', '--json']);
  const rows = JSON.parse(json.stdout) as Status[];
  t.is(rows.length, MIGRATIONS);
  t.true(rows.every((r) => r.applied === false));
  t.true(rows.some((r) => r.name === '20261125000002_create_products'));
});

test.serial('when migrate runs on an empty database, then it applies every migration and creates the tables', async (t) => {
  const r = await cli(['migrate']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Applied batch 1 \(\d+ migrations\):/);
  t.regex(r.stdout, /20261125000007_create_stripe_events/);
  t.true(await database.db.schema.hasTable('products'));
  t.true(await database.db.schema.hasTable('stripe_events'));
});

test.serial('when migrate runs again, then it says the database is already up to date', async (t) => {
  const r = await cli(['migrate']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(lines(r.stdout), ['Already up to date.']);
  const json = await cli(['migrate', '--json']);
  t.deepEqual(JSON.parse(json.stdout), { batch: 1, applied: [] });
});

test.serial('when migrate --status runs after migrating, then every migration is applied', async (t) => {
  const r = await cli(['migrate', '--status', '--json']);
  t.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Status[];
  t.true(rows.length >= 7);
  t.true(rows.every((row) => row.applied));
});

test.serial('when migrate is given --status and --rollback together, then it exits 2 and changes nothing', async (t) => {
  const r = await cli(['migrate', '--status', '--rollback']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--status or --rollback, not both/);
  t.true(await database.db.schema.hasTable('products'));
});

test.serial('when migrate --rollback runs without a terminal and without --yes, then it exits 2 with one line naming what it would undo', async (t) => {
  const r = await cli(['migrate', '--rollback']);
  t.is(r.code, 2);
  t.is(lines(r.stderr).length, 1);
  t.regex(r.stderr, /^watchstore: migrate --rollback needs --yes when not run interactively; it would undo \d+ migrations \(.*20261125000001_create_users/);
  t.true(await database.db.schema.hasTable('products'));
});

test.serial('when migrate --rollback runs in a terminal, then it lists what it undoes and a no keeps everything', async (t) => {
  const r = await cli(['migrate', '--rollback'], { tty: true, answers: [{ when: /Roll back, losing that data\?/, type: 'n\r' }] });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /Rolling back undoes \d+ migrations[\s\S]*20261125000001_create_users[\s\S]*Nothing rolled back\./);
  t.true(await database.db.schema.hasTable('users'));
});

test.serial('when migrate --rollback --yes runs, then the last batch is rolled back and the tables are gone', async (t) => {
  const r = await cli(['migrate', '--rollback', '--yes', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { batch: number; rolled_back: string[] };
  t.is(out.batch, 1);
  t.true(out.rolled_back.includes('20261125000001_create_users'));
  t.false(await database.db.schema.hasTable('products'));
  t.false(await database.db.schema.hasTable('users'));

  const status = JSON.parse((await cli(['migrate', '--status', '--json'])).stdout) as Status[];
  t.true(status.every((row) => !row.applied));

  const again = await cli(['migrate', '--rollback', '--yes']);
  t.is(again.code, 0);
  t.deepEqual(lines(again.stdout), ['Nothing to roll back.']);
});

test.serial('when migrate --rollback --step 1 --yes runs, then only the newest migration is undone', async (t) => {
  t.is((await cli(['migrate'])).code, 0);
  const before = JSON.parse((await cli(['migrate', '--status', '--json'])).stdout) as Status[];
  const newest = before.filter((m) => m.applied).at(-1)!.name;
  const r = await cli(['migrate', '--rollback', '--step', '1', '--yes', '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual((JSON.parse(r.stdout) as { rolled_back: string[] }).rolled_back, [newest]);
  const after = JSON.parse((await cli(['migrate', '--status', '--json'])).stdout) as Status[];
  t.deepEqual(
    after.filter((m) => !m.applied).map((m) => m.name),
    [newest],
  );
  t.true(await database.db.schema.hasTable('users'));
  t.is((await cli(['migrate', '--rollback', '--step', '0', '--yes'])).code, 2);
});
