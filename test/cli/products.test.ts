import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { seedCatalog } from '../../src/products/catalog.service.js';
import type { PublicProduct } from '../../src/products/products.schemas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ANSI, cliInProcess, runCliInTerminal } from '../helpers/cli-in-process.js';
import { createProduct, listProducts } from '../helpers/services.js';

// Tests run concurrently: each works on products it creates itself (or only reads the seeded ones).
let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;
const imagesDir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-images-'));
const filesDir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-files-'));

test.before(async () => {
  database = await createTestDatabase();
  await seedCatalog(database.db);
  cli = cliInProcess(database, { IMAGES_DIR: imagesDir });
});
test.after.always(async () => {
  await database?.drop();
  for (const d of [imagesDir, filesDir]) rmSync(d, { recursive: true, force: true });
});

let seq = 0;
const newProduct = (fields: { stock?: number; price?: string } = {}) =>
  createProduct(database.db, { name: `CLI test watch ${process.pid}-${++seq}`, price: fields.price ?? '100.00', stock: fields.stock ?? 5 });
const row = (id: number) => database.db('products').where({ id }).first();
const byName = (name: string) => database.db('products').where({ name }).first();

test('when products list runs, then it prints a table with names and dollar prices and no ANSI when piped', async (t) => {
  const r = await cli(['products', 'list', '--limit', '100']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Halden Meridian Chronograph/);
  t.regex(r.stdout, /\$1,299\.99/);
  t.regex(r.stdout, /│ ID │ Name/);
  t.notRegex(r.stdout, ANSI);
  t.notRegex(r.stderr, ANSI);
});

test('when products list --json runs, then stdout is exactly the array the service returns', async (t) => {
  const r = await cli(['products', 'list', '--search', 'halden', '--json']);
  t.is(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout) as PublicProduct[];
  t.deepEqual(items, (await listProducts(database.db, { q: 'halden' })).items);
  t.is(items.length, 1);
  t.is(items[0].price_cents, 129999);
  t.is(items[0].price, 1299.99);
  t.notRegex(r.stdout, ANSI);
});

test('when products list has --limit and --low-stock, then it returns only what was asked', async (t) => {
  const empty = await newProduct({ stock: 0 });
  const limited = JSON.parse((await cli(['products', 'list', '--limit', '2', '--json'])).stdout) as PublicProduct[];
  t.is(limited.length, 2);
  const low = JSON.parse((await cli(['products', 'list', '--low-stock', '0', '--limit', '100', '--json'])).stdout) as PublicProduct[];
  t.true(low.some((p) => p.id === empty.id));
  t.true(low.every((p) => p.stock === 0));
  const bad = await cli(['products', 'list', '--limit', '0']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^watchstore: .*limit/);
});

test('when stdout is a terminal, then there is colour, but not with --no-color or NO_COLOR', async (t) => {
  const env = { DATABASE_URL: database.url };
  const coloured = await runCliInTerminal(['products', 'list', '--search', 'halden'], { env });
  t.is(coloured.code, 0, coloured.stdout);
  t.regex(coloured.stdout, ANSI);
  const flag = await runCliInTerminal(['products', 'list', '--search', 'halden', '--no-color'], { env });
  t.regex(flag.stdout, /Halden/);
  t.notRegex(flag.stdout, ANSI);
  const noColor = await runCliInTerminal(['products', 'list', '--search', 'halden'], { env: { ...env, NO_COLOR: '1' } });
  t.regex(noColor.stdout, /Halden/);
  t.notRegex(noColor.stdout, ANSI);
});

test('when products add is given a name, price and stock, then the product exists with the price in cents', async (t) => {
  const name = `Added by CLI ${process.pid}`;
  const r = await cli(['products', 'add', '--name', name, '--price', '1299.99', '--stock', '5', '--description', 'A test watch.']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /\$1,299\.99, 5 in stock/);
  const saved = await byName(name);
  t.is(Number(saved.price_cents), 129999);
  t.is(Number(saved.stock), 5);
  t.is(saved.description, 'A test watch.');

  const json = await cli(['products', 'add', '--name', `${name} two`, '--price', '15', '--stock', '0', '--json']);
  const p = JSON.parse(json.stdout) as PublicProduct;
  t.is(p.price_cents, 1500);
  t.is(p.stock, 0);
  t.false(p.in_stock);
});

test('when products add is given the top price 99,999,999.99, then it is stored to the cent and read back as a number', async (t) => {
  const name = `Top price ${process.pid}`;
  const r = await cli(['products', 'add', '--name', name, '--price', '99999999.99', '--stock', '2', '--json']);
  t.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as PublicProduct;
  t.is(p.price_cents, 9_999_999_999);
  t.is(p.price, 99_999_999.99);
  t.is(Number((await byName(name)).price_cents), 9_999_999_999);
  const listed = (await listProducts(database.db, { q: name })).items[0];
  t.is(typeof listed?.price_cents, 'number');
  t.is(listed?.price_cents, 9_999_999_999);
});

test('when products add is given a bad price or stock, then it exits 2 and nothing is added', async (t) => {
  for (const [price, stock] of [
    ['12.345', '1'],
    ['-5', '1'],
    ['abc', '1'],
    ['10', '-1'],
    ['10', 'many'],
  ]) {
    const name = `Rejected ${process.pid} ${price} ${stock}`;
    const r = await cli(['products', 'add', '--name', name, '--price', price, '--stock', stock]);
    t.is(r.code, 2, `${price}/${stock}: ${r.stderr}`);
    t.regex(r.stderr, /^watchstore: /);
    t.falsy(await byName(name));
  }
});

test('when products add misses --name, --price or --stock without a terminal, then it exits 2 naming them and nothing is added', async (t) => {
  const name = `Half given ${process.pid}`;
  const some = await cli(['products', 'add', '--name', name]);
  t.is(some.code, 2);
  t.regex(some.stderr, /^watchstore: products add needs --price and --stock when not run interactively/);
  t.regex(some.stderr, /usage: watchstore products add --name N --price 199\.99 --stock 5/);
  t.is(some.stdout, '');
  t.falsy(await byName(name));
  const none = await cli(['products', 'add']);
  t.is(none.code, 2);
  t.regex(none.stderr, /products add needs --name, --price and --stock/);
});

test('when products add runs in a terminal without flags, then it asks for name, price and stock and adds the product', async (t) => {
  const name = `Asked for ${process.pid}`;
  const r = await runCliInTerminal(['products', 'add', '--description', 'Typed in.'], {
    env: { DATABASE_URL: database.url, IMAGES_DIR: imagesDir },
    answers: [
      { when: /Name:/, type: `${name}\r` },
      { when: /Price/, type: '1,234.50\r' },
      { when: /Stock/, type: '7\r' },
    ],
  });
  t.is(r.code, 0, r.stdout);
  t.regex(r.stdout, /Added #\d+ .*\$1,234\.50, 7 in stock/);
  const saved = await byName(name);
  t.is(Number(saved?.price_cents), 123450);
  t.is(Number(saved?.stock), 7);
  t.is(saved?.description, 'Typed in.');
});

test('when products add runs in a terminal with some flags, then it asks only for the missing ones', async (t) => {
  const name = `Partly asked ${process.pid}`;
  const r = await runCliInTerminal(['products', 'add', '--name', name, '--price', '99.99'], {
    env: { DATABASE_URL: database.url, IMAGES_DIR: imagesDir },
    answers: [{ when: /Stock/, type: '3\r' }],
  });
  t.is(r.code, 0, r.stdout);
  t.notRegex(r.stdout, /Name:|Price/);
  const saved = await byName(name);
  t.is(Number(saved?.price_cents), 9999);
  t.is(Number(saved?.stock), 3);
});

const pngBytes = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .png()
    .toBuffer();

test.serial('when products add is given --image FILE, then it goes through the upload rules: stored re-encoded under its hash', async (t) => {
  const source = path.join(filesDir, 'My Watch (front).JPG');
  writeFileSync(source, await pngBytes(1800, 90)); // a PNG, whatever its name says
  const r = await cli(['products', 'add', '--name', `Pictured ${process.pid}`, '--price', '10', '--stock', '1', '--image', source, '--json']);
  t.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as PublicProduct;
  t.regex(p.image_url ?? '', /^\/images\/[0-9a-f]{64}\.png$/);
  const meta = await sharp(path.join(imagesDir, path.basename(p.image_url!))).metadata();
  t.is(meta.format, 'png');
  t.is(meta.width, 1600);
  const audit = await database.db('audit_log').where({ target_type: 'product', target_id: String(p.id) });
  t.is(audit.length, 1);
});

test('when --image names a missing file, a non-image, an SVG or an empty file, then it exits 2 and nothing changes', async (t) => {
  const name = `Imageless ${process.pid}`;
  const missing = await cli(['products', 'add', '--name', name, '--price', '10', '--stock', '1', '--image', path.join(filesDir, 'nope.png')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /image file not found/);
  t.falsy(await byName(name));

  const p = await newProduct();
  for (const [file, content, message] of [
    ['notes.png', 'not an image', /not a JPEG, PNG or WebP/],
    ['w.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>', /SVG/],
    ['empty.png', '', /empty/],
  ] as const) {
    const f = path.join(filesDir, file);
    writeFileSync(f, content);
    const r = await cli(['products', 'update', String(p.id), '--image', f]);
    t.is(r.code, 2, file);
    t.regex(r.stderr, message);
  }
  t.is((await row(p.id)).image_url, null);
});

test.serial('when products add fails after the image was stored, then the stored file is removed again', async (t) => {
  const source = path.join(filesDir, 'orphan.png');
  writeFileSync(source, await pngBytes(33, 17));
  const before = readdirSync(imagesDir).length;
  const r = await cli(['products', 'add', '--name', ' ', '--price', '10', '--stock', '1', '--image', source]);
  t.is(r.code, 2);
  t.is(readdirSync(imagesDir).length, before);
});

test('when products update changes name and price, then the product has them', async (t) => {
  const p = await newProduct();
  const r = await cli(['products', 'update', String(p.id), '--name', `Renamed ${p.id}`, '--price', '2,500.50', '--json']);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as PublicProduct;
  t.is(out.name, `Renamed ${p.id}`);
  t.is(out.price_cents, 250050);
  const saved = await row(p.id);
  t.is(saved.name, `Renamed ${p.id}`);
  t.is(Number(saved.price_cents), 250050);
});

test('when products update is given a bad price or nothing to change, then it exits 2 and nothing changes', async (t) => {
  const p = await newProduct({ price: '100.00' });
  const bad = await cli(['products', 'update', String(p.id), '--price', '12.345']);
  t.is(bad.code, 2);
  t.is(Number((await row(p.id)).price_cents), 10000);
  const nothing = await cli(['products', 'update', String(p.id)]);
  t.is(nothing.code, 2);
  t.regex(nothing.stderr, /Nothing to update/);
  const badId = await cli(['products', 'update', 'abc', '--name', 'x']);
  t.is(badId.code, 2);
});

test('when a product does not exist, then update, stock and remove exit 1 saying so', async (t) => {
  for (const args of [
    ['products', 'update', '999999', '--name', 'Ghost'],
    ['products', 'stock', '999999', '3'],
    ['products', 'stock', '999999', '-1'],
    ['products', 'remove', '999999', '--yes'],
  ]) {
    const r = await cli(args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, /^watchstore: Product 999999 not found/);
  }
});

test('when products stock is given N, +N and -N, then it sets and adjusts the stock', async (t) => {
  const p = await newProduct({ stock: 5 });
  const id = String(p.id);
  const set = await cli(['products', 'stock', id, '7']);
  t.is(set.code, 0, set.stderr);
  t.regex(set.stdout, /is now 7/);
  t.is(Number((await row(p.id)).stock), 7);

  t.is((await cli(['products', 'stock', id, '+3'])).code, 0);
  t.is(Number((await row(p.id)).stock), 10);

  const take = await cli(['products', 'stock', id, '-4', '--json']);
  t.is(take.code, 0, take.stderr);
  t.is((JSON.parse(take.stdout) as PublicProduct).stock, 6);
  t.is(Number((await row(p.id)).stock), 6);
});

test('when products stock would go below zero or is not a number, then it is refused and the stock is unchanged', async (t) => {
  const p = await newProduct({ stock: 6 });
  const id = String(p.id);
  const beyond = await cli(['products', 'stock', id, '-7']);
  t.is(beyond.code, 1);
  t.regex(beyond.stderr, /has 6 in stock; cannot take 7/);
  t.is(Number((await row(p.id)).stock), 6);

  for (const change of ['abc', '1.5', '--', '+']) {
    const r = await cli(['products', 'stock', id, change]);
    t.is(r.code, 2, `${change}: ${r.stderr}`);
  }
  t.is(Number((await row(p.id)).stock), 6);
});

test('when products remove runs without --yes and without a terminal, then it exits 2 and the product stays', async (t) => {
  const p = await newProduct();
  const r = await cli(['products', 'remove', String(p.id)]);
  t.is(r.code, 2);
  t.regex(r.stderr, /products remove needs --yes when not run interactively/);
  t.truthy(await row(p.id));
});

test('when products remove runs with --yes, then the product is gone', async (t) => {
  const p = await newProduct();
  const r = await cli(['products', 'remove', String(p.id), '--yes']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`Removed #${p.id} `));
  t.falsy(await row(p.id));
});

test('when products remove runs in a terminal and the answer is yes, then the product is gone', async (t) => {
  const p = await newProduct();
  const r = await runCliInTerminal(['products', 'remove', String(p.id)], {
    env: { DATABASE_URL: database.url },
    answers: [{ when: new RegExp(`Remove #${p.id} `), type: 'y\r' }],
  });
  t.is(r.code, 0, r.stdout);
  t.falsy(await row(p.id));
});
