/**
 * DB_TIMEOUT_MS as knex-config.ts applies it, on SQLite or MariaDB (TEST_DB=mysql): the bound
 * reaches the driver (busy_timeout; a per-query timeout on MySQL), a query past it fails with an
 * error that means "unavailable" (HTTP 503), the pool goes on with a fresh connection, and the
 * migrations' much larger bound lets a long statement finish.
 */
import test from 'ava';
import { createDb } from '../../src/db/connection.js';
import { isDatabaseUnavailable } from '../../src/db/errors.js';
import { MIGRATION_TIMEOUT_MS } from '../../src/db/knex-config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(async () => {
  await database?.drop();
});

const mysqlOnly = process.env.TEST_DB === 'mysql' ? test.serial : test.serial.skip;
const sqliteOnly = process.env.TEST_DB === 'mysql' ? test.serial.skip : test.serial;

sqliteOnly('when a SQLite database is opened with a timeout, then busy_timeout is that timeout', async (t) => {
  const db = createDb(database.config, { timeoutMs: 1234 });
  try {
    const rows = (await db.raw('PRAGMA busy_timeout')) as Array<Record<string, number>>;
    t.is(Object.values(rows[0])[0], 1234);
  } finally {
    await db.destroy();
  }
});

mysqlOnly('when a MySQL query runs past the timeout, then it fails as unavailable and the next query gets a fresh connection', async (t) => {
  const db = createDb(database.config, { timeoutMs: 500 });
  try {
    const err = await t.throwsAsync(db.raw('SELECT SLEEP(3) AS slow'));
    t.is((err as { code?: string }).code, 'PROTOCOL_SEQUENCE_TIMEOUT');
    t.true(isDatabaseUnavailable(err));
    const [rows] = (await db.raw('SELECT 1 AS ok')) as [Array<{ ok: number }>];
    t.is(rows[0].ok, 1);
  } finally {
    await db.destroy();
  }
});

mysqlOnly("when a statement takes longer than the 500 ms above, then under the migrations' bound (watchstore migrate, knexfile) it finishes", async (t) => {
  const db = createDb(database.config, { timeoutMs: MIGRATION_TIMEOUT_MS });
  try {
    const [rows] = (await db.raw('SELECT SLEEP(1) AS slept')) as [Array<{ slept: number }>];
    t.is(Number(rows[0].slept), 0);
  } finally {
    await db.destroy();
  }
});
