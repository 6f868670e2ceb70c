import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliInProcess, lines } from '../helpers/cli-in-process.js';

// One database; each step builds on the previous one, so serial.
let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-seed-'));

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
});
test.after.always(async () => {
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const countProducts = async () => Number((await database.db('products').count({ n: '*' }))[0].n);
const countUsers = async () => Number((await database.db('users').count({ n: '*' }))[0].n);

interface SeedResult {
  added: number;
  skipped: number;
  removed: number;
  total: number;
}

test.serial('when seed runs on an empty store, then it adds the 24 sample watches and no accounts', async (t) => {
  const r = await cli(['seed']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /24 added, 0 skipped.*24 products/);
  t.is(await countProducts(), 24);
  t.is(await countUsers(), 0);
  const halden = await database.db('products').where({ name: 'Halden Meridian Chronograph' }).first();
  t.is(Number(halden.price_cents), 129999);
  t.is(halden.image_url, '/images/halden-meridian-chronograph.svg');
});

test.serial('when seed runs a second time, then nothing is added and the count stays 24', async (t) => {
  const r = await cli(['seed', '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout) as SeedResult, { added: 0, skipped: 24, removed: 0, total: 24 });
  t.is(await countProducts(), 24);
});

test.serial('when seed --file names an invalid catalog, then it exits 2 and nothing changes', async (t) => {
  const before = await database.db('products').orderBy('id').select('id', 'name', 'price_cents', 'stock');
  const badPrice = path.join(dir, 'bad-price.json');
  writeFileSync(
    badPrice,
    JSON.stringify([
      { name: 'Fresh Watch', price: '12.00', stock: 1 },
      { name: 'Odd Watch', price: '12.345', stock: 1 },
    ]),
  );
  const notJson = path.join(dir, 'not-json.json');
  writeFileSync(notJson, '[{"name": ');

  for (const file of [badPrice, notJson, path.join(dir, 'missing.json')]) {
    const r = await cli(['seed', '--file', file]);
    t.is(r.code, 2, `${file}: ${r.stderr}`);
    t.regex(r.stderr, /^watchstore: /);
  }
  // Even combined with --reset, a bad file deletes nothing.
  const reset = await cli(['seed', '--reset', '--yes', '--file', badPrice]);
  t.is(reset.code, 2);
  t.deepEqual(await database.db('products').orderBy('id').select('id', 'name', 'price_cents', 'stock'), before);
});

test.serial('when seed --file names a valid catalog, then only its new products are added', async (t) => {
  const file = path.join(dir, 'extra.json');
  writeFileSync(
    file,
    JSON.stringify([
      { name: 'Halden Meridian Chronograph', price: '1.00', stock: 1 },
      { name: 'Seed Test Field Watch', price: '250.50', stock: 3, description: 'From a custom file.' },
    ]),
  );
  const r = await cli(['seed', '--file', file, '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout) as SeedResult, { added: 1, skipped: 1, removed: 0, total: 25 });
  const halden = await database.db('products').where({ name: 'Halden Meridian Chronograph' }).first();
  t.is(Number(halden.price_cents), 129999, 'an existing product is left as it is');
});

test.serial('when seed --reset runs without a terminal and without --yes, then it exits 2 and deletes nothing', async (t) => {
  const before = await countProducts();
  const r = await cli(['seed', '--reset']);
  t.is(r.code, 2);
  t.deepEqual(lines(r.stderr), [`watchstore: seed --reset needs --yes when not run interactively; it would delete all ${before} products.`]);
  t.is(await countProducts(), before);
});

test.serial('when seed --reset runs in a terminal and the answer is no, then nothing is deleted', async (t) => {
  const before = await countProducts();
  const r = await cli(['seed', '--reset'], { tty: true, answers: [{ when: /Delete all \d+ products/, type: 'n\r' }] });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /Nothing changed\./);
  t.is(await countProducts(), before);
});

test.serial('when seed --reset --yes runs, then the catalog is replaced by exactly the sample watches', async (t) => {
  await database.db('products').where({ name: 'Halden Meridian Chronograph' }).update({ stock: 0 });
  const r = await cli(['seed', '--reset', '--yes', '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout) as SeedResult, { added: 24, skipped: 0, removed: 25, total: 24 });
  t.is(await countProducts(), 24);
  t.falsy(await database.db('products').where({ name: 'Seed Test Field Watch' }).first());
  const halden = await database.db('products').where({ name: 'Halden Meridian Chronograph' }).first();
  t.is(Number(halden.stock), 14);
});
