/**
 * The one retrying-transaction helper (src/db/transaction.ts) that orders and payments share, on
 * SQLite or MariaDB (TEST_DB=mysql): what is retried, what is not, and that a retry starts from
 * a clean slate. A real deadlock is made and survived on MariaDB, whatever TEST_DB says (SQLite
 * runs one writer at a time and cannot deadlock).
 */
import test from 'ava';
import type { Knex } from 'knex';
import { seedCatalog } from '../../src/products/catalog.service.js';
import { isRetryableLockError } from '../../src/db/errors.js';
import { inTransaction, MAX_TRANSACTION_ATTEMPTS, retryingTransaction } from '../../src/db/transaction.js';
import { createMariaDatabase, createTestDatabase, holdWriteLock, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(async () => {
  await database?.drop();
});

let seq = 0;
/** A product row to write to (any table with a plain integer column would do). */
async function product(stock = 10): Promise<number> {
  const [id] = await database.db('products').insert({ name: `tx ${process.pid} ${++seq}`, price_cents: 100, stock });
  return Number(id);
}
const stockOf = async (id: number) => Number((await database.db('products').where({ id }).first('stock')).stock);

/** An error the way the drivers report a lock conflict. */
const lockError = (code: string) => Object.assign(new Error(`lock conflict (${code})`), { code });

test('when the work fails with a lock conflict, then the whole transaction runs again and the failed attempt left nothing behind', async (t) => {
  const id = await product(10);
  let attempts = 0;
  const result = await retryingTransaction(database.db, async (trx) => {
    attempts++;
    await trx('products').where({ id }).decrement('stock', 3);
    if (attempts < 3) throw lockError(attempts === 1 ? 'ER_LOCK_DEADLOCK' : 'SQLITE_BUSY_SNAPSHOT');
    return 'done';
  });
  t.is(result, 'done');
  t.is(attempts, 3);
  t.is(await stockOf(id), 7, 'only the attempt that committed took stock');
});

test('when the work fails for another reason, then it is not retried and nothing is kept', async (t) => {
  const id = await product(10);
  let attempts = 0;
  await t.throwsAsync(
    retryingTransaction(database.db, async (trx) => {
      attempts++;
      await trx('products').where({ id }).decrement('stock', 3);
      throw new Error('a rule said no');
    }),
    { message: 'a rule said no' },
  );
  t.is(attempts, 1);
  t.is(await stockOf(id), 10);
});

test('when the conflicts never stop, then it gives up after MAX_TRANSACTION_ATTEMPTS with the last error', async (t) => {
  let attempts = 0;
  const err = await t.throwsAsync(
    retryingTransaction(database.db, async () => {
      attempts++;
      throw lockError('ER_LOCK_WAIT_TIMEOUT');
    }),
  );
  t.is((err as { code?: string }).code, 'ER_LOCK_WAIT_TIMEOUT');
  t.is(attempts, MAX_TRANSACTION_ATTEMPTS);
  t.true(isRetryableLockError(err));
  t.false(isRetryableLockError(new Error('plain')));
  // InnoDB's deadlock on a table's AUTO-INC lock (INSERT … SELECT), seen in test-cluster/.
  t.true(isRetryableLockError({ code: 'ER_AUTOINC_READ_FAILED' }));
  t.false(isRetryableLockError({ code: 'ER_DUP_ENTRY' }));
  // Only after busy_timeout (DB_TIMEOUT_MS) was waited out: unavailable, not tried again.
  t.false(isRetryableLockError({ code: 'SQLITE_BUSY' }));
});

test("when inTransaction is given the caller's transaction, then it works inside it (no retry, the caller decides to commit)", async (t) => {
  const id = await product(10);
  let inner = 0;
  await t.throwsAsync(
    database.db.transaction(async (trx) => {
      await inTransaction(trx, async (same) => {
        inner++;
        t.is(same, trx);
        await same('products').where({ id }).decrement('stock', 4);
      });
      throw lockError('ER_LOCK_DEADLOCK'); // the caller's transaction fails afterwards
    }),
  );
  t.is(inner, 1);
  t.is(await stockOf(id), 10, "the inner write went with the caller's rollback");

  await inTransaction(database.db, async (trx) => {
    await trx('products').where({ id }).decrement('stock', 4);
  });
  t.is(await stockOf(id), 6, 'without a transaction it opens (and commits) its own');
});

/** Another writer (see holdWriteLock) that sets the product's stock to 9 and holds the lock for `ms`. */
const holdLock = (ms: number, productId: number) => holdWriteLock(database, { ms, sql: 'UPDATE products SET stock = 9 WHERE id = ?', bindings: [productId] });

test.serial(
  'when another process holds the write lock for a while, then a transaction that reads before it writes waits for it instead of failing',
  async (t) => {
    // SQLite: knex opened transactions with a deferred BEGIN, whose first write met the other
    // process's lock with SQLITE_BUSY at once (busy_timeout does not apply to a reader becoming a
    // writer): two servers seeding one new file at the same moment failed that way. On MariaDB the
    // two touch different rows and nobody waits.
    const id = await product(10);
    const first = await holdLock(800, id);
    const readThenWrite = await database.db.transaction(async (trx) => {
      const before = await trx('products').count({ n: '*' }).first();
      await trx('products').insert({ name: `tx ${process.pid} waiting`, price_cents: 100, stock: 1 });
      return Number(before?.n);
    });
    t.true(readThenWrite > 0);
    await first.released;
    t.is(await stockOf(id), 9, "the holder's write landed too");
    t.truthy(
      await database
        .db('products')
        .where({ name: `tx ${process.pid} waiting` })
        .first(),
    );

    // Seeding reads each name, then inserts: it waits for a lock held when it starts, too.
    const second = await holdLock(800, id);
    t.true((await seedCatalog(database.db)).total > 0);
    await second.released;
  },
);

test('when two transactions really deadlock on MariaDB, then the victim is retried and both writes land', async (t) => {
  const maria = await createMariaDatabase();
  t.teardown(() => maria.drop());
  const insert = async () => Number((await maria.db('products').insert({ name: `deadlock ${++seq}`, price_cents: 100, stock: 100 }))[0]);
  const a = await insert();
  const b = await insert();
  // Each takes its first row, waits until the other has too, then asks for the other's row.
  let locked = 0;
  const bothLocked = async () => {
    const deadline = Date.now() + 10_000;
    while (locked < 2) {
      if (Date.now() > deadline) throw new Error('the two transactions never both held a row');
      await new Promise((r) => setTimeout(r, 5)); // poll interval
    }
  };
  let attempts = 0;
  let deadlocks = 0;
  const crosswise = (first: number, second: number) => async (trx: Knex.Transaction) => {
    attempts++;
    await trx('products').where({ id: first }).decrement('stock', 1);
    if (attempts <= 2) {
      locked++;
      await bothLocked();
    }
    try {
      await trx('products').where({ id: second }).decrement('stock', 1);
    } catch (err) {
      if ((err as { code?: string }).code === 'ER_LOCK_DEADLOCK') deadlocks++;
      throw err;
    }
  };
  await Promise.all([retryingTransaction(maria.db, crosswise(a, b)), retryingTransaction(maria.db, crosswise(b, a))]);
  t.is(deadlocks, 1, 'MariaDB chose one victim');
  t.is(attempts, 3, 'the victim ran again');
  const stock = async (id: number) => Number((await maria.db('products').where({ id }).first('stock')).stock);
  t.is(await stock(a), 98);
  t.is(await stock(b), 98);
});
