/**
 * The outbox core (docs/data.md, "outbox"): queued in the caller's transaction, claimed with a
 * lease, completed only under the claim that holds the row, retried with backoff, dead after the
 * last attempt.
 */
import test from 'ava';
import { backlog, claimDue, enqueue, findMessage, markFailed, markSent, retryMessages } from '../../src/outbox/outbox.repository.js';
import type { OutboxMessage } from '../../src/outbox/outbox.schemas.js';
import { backoffMs, deliverBatch, startWorker, type WorkerSettings } from '../../src/outbox/worker.js';
import { fromDbTime } from '../../src/db/values.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t0: TestDatabase;
test.before(async () => {
  t0 = await createTestDatabase();
});
test.after.always(async () => {
  await t0?.drop();
});
test.afterEach.always(async () => {
  await t0.db('outbox').delete();
});

// A retry waits 30 to 60 s: a test makes a row due again by moving its time, never by waiting.
const settings: WorkerSettings = { pollMs: 20, leaseMs: 60_000, batchSize: 10, maxAttempts: 3, retryBaseMs: 60_000, retryMaxMs: 60_000 };
const email = (key: string) => ({ kind: 'email' as const, topic: 'test.message', key, payload: { to: 'ada@example.com', template: 'none', data: { key } } });

test.serial('a message queued in a transaction that rolls back is not there', async (t) => {
  const db = t0.db;
  await t.throwsAsync(
    db.transaction(async (trx) => {
      await enqueue(trx, email('rolled-back'));
      throw new Error('the change failed');
    }),
    { message: 'the change failed' },
  );
  t.is(await db('outbox').where('message_key', 'rolled-back').first(), undefined);
});

test.serial('the same key queued twice is one message', async (t) => {
  const db = t0.db;
  t.true(await db.transaction((trx) => enqueue(trx, email('twice'))));
  t.false(await db.transaction((trx) => enqueue(trx, email('twice'))));
  t.is(Number((await db('outbox').where('message_key', 'twice').count({ n: '*' }).first())?.n), 1);
});

test.serial('a claimed row is not claimed again until its lease ends, and only its claim completes it', async (t) => {
  const db = t0.db;
  await db.transaction((trx) => enqueue(trx, email('lease')));
  const first = await claimDue(db, { limit: 5, leaseMs: 60_000 });
  t.is(first.messages.length, 1);
  t.is(first.messages[0].attempts, 1);
  t.is((await claimDue(db, { limit: 5, leaseMs: 60_000 })).messages.length, 0);
  // After the lease (claimed "two minutes from now"), another claim takes it over…
  const later = await claimDue(db, { limit: 5, leaseMs: 60_000, now: new Date(Date.now() + 120_000) });
  t.is(later.messages.length, 1);
  t.is(later.messages[0].attempts, 2);
  // …and the first worker, late, can no longer complete or fail it.
  t.false(await markSent(db, first.messages[0].id, first.token));
  t.false(await markFailed(db, first.messages[0].id, first.token, 'late', null));
  t.true(await markSent(db, later.messages[0].id, later.token));
  const row = await findMessage(db, later.messages[0].id);
  t.is(row?.status, 'sent');
  t.truthy(row?.sent_at);
});

test.serial('a failing message is retried with backoff, then dead; retry brings it back', async (t) => {
  const db = t0.db;
  await db.transaction((trx) => enqueue(trx, email('failing')));
  const failing = { email: async () => Promise.reject(new Error('451 try again')), webhook: async () => undefined };
  const first = await deliverBatch(db, failing, settings);
  t.deepEqual(first, { claimed: 1, sent: 0, failed: 1, dead: 0 });
  const after1 = (await db('outbox').where('message_key', 'failing').first()) as { available_at: string | Date; last_error: string };
  t.is(after1.last_error, '451 try again');
  // Due again between half and all of the first backoff from now.
  const wait = Date.parse(fromDbTime(after1.available_at) ?? '') - Date.now();
  t.true(wait > 20_000 && wait <= 60_000, `due again in ${wait} ms`);
  // Not due at once: the backoff holds it back.
  t.is((await deliverBatch(db, failing, settings)).claimed, 0);
  for (let attempt = 2; attempt <= settings.maxAttempts; attempt++) {
    await db('outbox').where('message_key', 'failing').update({ available_at: '2000-01-01 00:00:00.000' });
    await deliverBatch(db, failing, settings);
  }
  const dead = await findMessage(db, Number((await db('outbox').where('message_key', 'failing').first()).id));
  t.is(dead?.status, 'dead');
  t.is(dead?.attempts, settings.maxAttempts);
  t.is((await backlog(db)).dead, 1);
  t.is(await retryMessages(db, { dead: true }), 1);
  const sent: OutboxMessage[] = [];
  const ok = { email: async (m: OutboxMessage) => void sent.push(m), webhook: async () => undefined };
  t.deepEqual(await deliverBatch(db, ok, settings), { claimed: 1, sent: 1, failed: 0, dead: 0 });
  t.is(sent.length, 1);
  t.deepEqual((sent[0].payload as { data: unknown }).data, { key: 'failing' });
});

test('backoff doubles up to its ceiling and keeps between half and all of it', (t) => {
  t.is(
    backoffMs(1, 1000, 60_000, () => 0),
    500,
  );
  t.is(
    backoffMs(1, 1000, 60_000, () => 1),
    1000,
  );
  t.is(
    backoffMs(4, 1000, 60_000, () => 1),
    8000,
  );
  t.is(
    backoffMs(20, 1000, 60_000, () => 1),
    60_000,
  );
  t.is(
    backoffMs(20, 1000, 60_000, () => 0),
    30_000,
  );
});

test.serial('a running worker drains what is queued, each message once, and reports the backlog', async (t) => {
  const db = t0.db;
  await db.transaction(async (trx) => {
    for (let i = 0; i < 45; i++) await enqueue(trx, email(`drain-${i}`));
  });
  const before = await backlog(db);
  t.is(before.pending, 45);
  t.is(before.due, 45);
  const seen = new Map<string, number>();
  const worker = startWorker(
    db,
    { email: async (m) => void seen.set(m.message_key, (seen.get(m.message_key) ?? 0) + 1), webhook: async () => undefined },
    settings,
  );
  await worker.idle();
  await worker.stop();
  t.is(seen.size, 45);
  t.true([...seen.values()].every((n) => n === 1));
  t.deepEqual(await backlog(db), { pending: 0, due: 0, dead: 0, oldestDueSeconds: 0 });
});

test.serial('a message whose stored payload is not JSON goes dead with the reason, and the others are delivered', async (t) => {
  const db = t0.db;
  await db.transaction(async (trx) => {
    await enqueue(trx, email('corrupt'));
    await enqueue(trx, email('fine'));
  });
  // Changed by hand (or a half-restored backup): not JSON any more.
  await db('outbox').where('message_key', 'corrupt').update({ payload: '{"to": "ada@exa' });
  const delivered: string[] = [];
  const ok = { email: async (m: OutboxMessage) => void delivered.push(m.message_key), webhook: async () => undefined };
  t.deepEqual(await deliverBatch(db, ok, settings), { claimed: 2, sent: 1, failed: 0, dead: 1 });
  t.deepEqual(delivered, ['fine']);
  const corrupt = (await db('outbox').where('message_key', 'corrupt').first()) as { id: number; status: string; last_error: string };
  t.is(corrupt.status, 'dead');
  t.regex(corrupt.last_error, /payload/);
  // It stays readable for `outbox list` and `outbox show`.
  t.is((await findMessage(db, Number(corrupt.id)))?.payload, null);
});

test.serial('a deliverer that throws something that is not an Error fails the message like any error', async (t) => {
  const db = t0.db;
  await db.transaction((trx) => enqueue(trx, email('odd-throw')));
  // An object without a prototype cannot even be turned into a string.
  const odd = { email: async () => Promise.reject(Object.create(null)), webhook: async () => undefined };
  t.deepEqual(await deliverBatch(db, odd, settings), { claimed: 1, sent: 0, failed: 1, dead: 0 });
  const row = (await db('outbox').where('message_key', 'odd-throw').first()) as { status: string; claim_token: string | null; last_error: string };
  t.is(row.status, 'pending');
  t.is(row.claim_token, null);
  t.truthy(row.last_error);
});

test.serial('when recording one message fails, then the batch still waits for the others in hand before it fails', async (t) => {
  const db = t0.db;
  await db.transaction(async (trx) => {
    await enqueue(trx, email('quick'));
    await enqueue(trx, email('slow'));
  });
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let slowDone = false;
  const deliverers = {
    email: async (m: OutboxMessage) => {
      if (m.message_key === 'slow') {
        await gate;
        slowDone = true;
      }
    },
    webhook: async () => undefined,
  };
  // A log line that fails after the quick message is recorded; the slow one is let go only later.
  const log = {
    info: () => {
      setImmediate(release);
      throw new Error('the log is full');
    },
    warn: () => {},
    error: () => {},
  };
  await t.throwsAsync(deliverBatch(db, deliverers, settings, log), { message: 'the log is full' });
  t.true(slowDone, 'the slow delivery had finished when the batch returned');
});
