/**
 * The SQLite client that opens every transaction with `BEGIN IMMEDIATE`
 * (src/db/sqlite-immediate-client.ts), on a SQLite file of its own whatever TEST_DB says: while a
 * second connection (another process) holds the write lock, a transaction that reads before it
 * writes waits for the lock instead of failing with SQLITE_BUSY — which knex's own client does.
 * And the knex version check that guards the patch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig } from '../../src/config.js';
import { createDb } from '../../src/db/connection.js';
import { assertKnexVersion, PATCHED_KNEX_VERSION } from '../../src/db/knex-internals.js';
import { holdWriteLock, type TestDatabase } from '../helpers/db.js';

let dir: string;
let config: DatabaseConfig & { client: 'sqlite' };
let db: Knex;
test.before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-immediate-'));
  config = { client: 'sqlite', filename: path.join(dir, 'immediate.sqlite') };
  db = createDb(config);
  await db.schema.createTable('counters', (t) => {
    t.integer('id').primary();
    t.integer('n').notNullable();
  });
  await db('counters').insert({ id: 1, n: 0 });
});
test.after.always(async () => {
  await db?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Another process holding the file's write lock (having written n = 100) for `ms`. */
const holdLock = (ms: number) =>
  holdWriteLock({ config, db, url: '', dialect: 'sqlite', drop: async () => {} } satisfies TestDatabase, {
    ms,
    sql: 'UPDATE counters SET n = 100 WHERE id = 1',
  });

/** Reads, then writes, in one transaction: the shape that a deferred BEGIN cannot wait through. */
const readThenWrite = (knex: Knex) =>
  knex.transaction(async (trx) => {
    const row = (await trx('counters').where({ id: 1 }).first('n')) as { n: number };
    await trx('counters')
      .where({ id: 1 })
      .update({ n: row.n + 1 });
    return row.n;
  });

test.serial('when a second connection holds the write lock, then a transaction waits for it and then reads what it committed', async (t) => {
  const held = await holdLock(600);
  const seen = await readThenWrite(db);
  await held.released;
  t.is(seen, 100, 'the transaction began after the holder committed');
  t.is(((await db('counters').where({ id: 1 }).first('n')) as { n: number }).n, 101);
});

test.serial("when knex's own better-sqlite3 client does the same, then it fails with SQLITE_BUSY (what the patch is for)", async (t) => {
  const plain = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: config.filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        conn.pragma('busy_timeout = 5000');
        done(null, conn);
      },
    },
  });
  try {
    const held = await holdLock(600);
    const err = await readThenWrite(plain).then(
      () => undefined,
      (e: unknown) => e,
    );
    await held.released;
    t.regex(String((err as { code?: string } | undefined)?.code), /^SQLITE_BUSY/);
  } finally {
    await plain.destroy();
  }
});

test('when another knex version is installed, then the check says which and what to do', (t) => {
  t.notThrows(() => assertKnexVersion());
  t.notThrows(() => assertKnexVersion(PATCHED_KNEX_VERSION));
  const err = t.throws(() => assertKnexVersion('3.4.0'));
  t.regex(err.message, /knex 3\.4\.0 is installed/);
  t.regex(err.message, new RegExp(`knex@${PATCHED_KNEX_VERSION.replace(/\./g, '\\.')}`));
});

test('when package.json pins knex, then it pins exactly the version the patch was written against', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { PROJECT_ROOT } = await import('../../src/paths.js');
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  t.is(pkg.dependencies.knex, PATCHED_KNEX_VERSION);
});
