/**
 * src/db/prepared.ts on SQLite or MariaDB (TEST_DB=mysql): a finished transaction refuses its
 * statements as knex's own queries do, the parameters are typed to what both drivers bind, and a
 * write with the read after it (on one connection) reads what was written, gives the write's error
 * when it fails, and never lets a value start a statement.
 */
import path from 'node:path';
import test from 'ava';
import ts from 'typescript';
import { isUniqueViolation } from '../../src/db/errors.js';
import { sqlAll, sqlGet, sqlRun, sqlRunThenAll } from '../../src/db/prepared.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(async () => {
  await database?.drop();
});

let seq = 0;
const uniqueName = () => `prepared ${process.pid} ${++seq}`;
const INSERT = 'INSERT INTO products (name, price_cents, stock) VALUES (?, ?, ?)';
const countNamed = async (name: string) => Number((await database.db('products').where({ name }).count({ n: '*' }))[0].n);
const REFUSED = { message: /^Transaction query already complete/ };

test.serial('when a transaction has committed, then running, getting or listing on it is refused and nothing is written', async (t) => {
  const trx = await database.db.transaction();
  const kept = uniqueName();
  t.is(await sqlRun(trx, INSERT, [kept, 100, 1]), 1, 'usable before the commit');
  await trx.commit();

  const late = uniqueName();
  await t.throwsAsync(sqlRun(trx, INSERT, [late, 100, 1]), REFUSED);
  await t.throwsAsync(sqlGet(trx, 'SELECT id FROM products WHERE name = ?', [kept]), REFUSED);
  await t.throwsAsync(sqlAll(trx, 'SELECT id FROM products WHERE name = ?', [kept]), REFUSED);
  t.is(await countNamed(kept), 1);
  t.is(await countNamed(late), 0);
});

test.serial('when a transaction has rolled back, then a statement on it is refused', async (t) => {
  const trx = await database.db.transaction();
  await trx.rollback();
  const late = uniqueName();
  await t.throwsAsync(sqlRun(trx, INSERT, [late, 100, 1]), REFUSED);
  t.is(await countNamed(late), 0);
});

test.serial('when a finished transaction is used while another one is open, then its statement does not land in the open one', async (t) => {
  const finished = await database.db.transaction();
  await finished.commit();
  // On SQLite the pool's one connection now belongs to this transaction.
  const open = await database.db.transaction();
  const late = uniqueName();
  try {
    await t.throwsAsync(sqlRun(finished, INSERT, [late, 100, 1]), REFUSED);
    t.is(await sqlGet<{ n: number }>(open, 'SELECT COUNT(*) AS n FROM products WHERE name = ?', [late]).then((r) => Number(r!.n)), 0);
    await open.commit();
  } finally {
    if (!open.isCompleted()) await open.rollback();
  }
  t.is(await countNamed(late), 0);
});

test.serial('when the statements are used on the database or a live transaction, then they still work', async (t) => {
  const name = uniqueName();
  await database.db.transaction(async (trx) => {
    t.is(await sqlRun(trx, INSERT, [name, 250, 3]), 1);
  });
  t.is((await sqlGet<{ stock: number }>(database.db, 'SELECT stock FROM products WHERE name = ?', [name]))!.stock, 3);
  t.is((await sqlAll(database.db, 'SELECT id FROM products WHERE name = ?', [name])).length, 1);
});

test.serial('when a write runs with a read after it, then the read sees the write and the changed rows are counted', async (t) => {
  const name = uniqueName();
  await sqlRun(database.db, INSERT, [name, 100, 5]);
  const read = { sql: 'SELECT stock FROM products WHERE name = ?', params: [name] };
  const changed = await sqlRunThenAll<{ stock: number }>(database.db, { sql: 'UPDATE products SET stock = stock + 2 WHERE name = ?', params: [name] }, read);
  t.deepEqual({ changes: changed.changes, stocks: changed.rows.map((r) => Number(r.stock)) }, { changes: 1, stocks: [7] });
  const unchanged = await sqlRunThenAll<{ stock: number }>(
    database.db,
    { sql: 'UPDATE products SET stock = stock + 2 WHERE name = ? AND stock > ?', params: [name, 100] },
    read,
  );
  t.deepEqual({ changes: unchanged.changes, stocks: unchanged.rows.map((r) => Number(r.stock)) }, { changes: 0, stocks: [7] });
});

test.serial('when the write fails, then its own error is thrown', async (t) => {
  const username = `u${process.pid}x${++seq}`;
  const email = `${username}@prepared.test`;
  const insertUser = { sql: "INSERT INTO users (username, email, password_hash, role) VALUES (?, ?, 'x', 'customer')", params: [username, email] };
  const read = { sql: 'SELECT id FROM users WHERE email = ?', params: [email] };
  t.is((await sqlRunThenAll(database.db, insertUser, read)).rows.length, 1);
  const err = await t.throwsAsync(sqlRunThenAll(database.db, { ...insertUser, params: [`${username}b`, email] }, read), { any: true });
  t.true(isUniqueViolation(err));
});

test.serial('when a value holds SQL, then it is stored as text and no other statement runs', async (t) => {
  const countAll = async () => Number((await database.db('products').count({ n: '*' }))[0].n);
  const before = await countAll();
  const name = `${uniqueName()}'; DELETE FROM products; --`;
  const { rows } = await sqlRunThenAll<{ name: string }>(
    database.db,
    { sql: INSERT, params: [name, 100, 1] },
    { sql: 'SELECT name FROM products WHERE name = ?', params: [name] },
  );
  t.deepEqual(
    rows.map((r) => r.name),
    [name],
  );
  t.is(await countAll(), before + 1);
});

test.serial('when a transaction has committed, then a write with its read is refused and nothing is written', async (t) => {
  const trx = await database.db.transaction();
  await trx.commit();
  const late = uniqueName();
  await t.throwsAsync(sqlRunThenAll(trx, { sql: INSERT, params: [late, 100, 1] }, { sql: 'SELECT 1', params: [] }), REFUSED);
  t.is(await countNamed(late), 0);
});

/**
 * Compiles a snippet against src/db/prepared.ts with the project's compiler options and returns
 * the line (1-based) of each error.
 */
function typeErrorLines(snippet: string): number[] {
  const root = PROJECT_ROOT;
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const file = path.join(root, 'test/integration/__prepared_bindings_check__.ts');
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    path.resolve(name) === file ? ts.createSourceFile(name, snippet, version) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => path.resolve(name) === file || fileExists.call(host, name);
  host.readFile = (name) => (path.resolve(name) === file ? snippet : readFile.call(host, name));
  const program = ts.createProgram([file], { ...options, noEmit: true }, host);
  const source = program.getSourceFile(file)!;
  return ts
    .getPreEmitDiagnostics(program, source)
    .map((d) => source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1)
    .sort((a, b) => a - b);
}

test('when a boolean or a Date is passed as a parameter, then it does not compile, while strings, numbers, bigints, null and Buffers do', (t) => {
  const lines = typeErrorLines(
    [
      "import type { Knex } from 'knex';",
      "import { sqlAll, sqlGet, sqlRun } from '../../src/db/prepared.js';",
      'declare const db: Knex;',
      "void sqlRun(db, 'UPDATE t SET a = ?', ['text', 1, 2.5, 10n, null, Buffer.from('x')]);",
      "void sqlRun(db, 'UPDATE t SET a = ?', [true]);",
      "void sqlGet(db, 'SELECT ?', [new Date()]);",
      "void sqlAll(db, 'SELECT ?', [false, 1]);",
    ].join('\n'),
  );
  t.deepEqual(lines, [5, 6, 7]);
});

test('when one text holds two statements, then the driver refuses it and neither runs (no multipleStatements)', async (t) => {
  const name = uniqueName();
  await t.throwsAsync(database.db.raw(`INSERT INTO products (name, price_cents, stock) VALUES (?, 100, 1); SELECT 1`, [name]), { any: true });
  t.is((await sqlAll(database.db, 'SELECT id FROM products WHERE name = ?', [name])).length, 0);
});
