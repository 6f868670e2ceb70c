/**
 * `watchstore orders expire` as a child process (the compiled CLI), on SQLite or MariaDB, with
 * the fake Stripe given to the child through STRIPE_SECRET_KEY and STRIPE_API_BASE.
 *
 * Serial: expire acts on every old pending order in the database, so each case runs alone and
 * asserts on its own orders.
 */
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { cliInProcess, type CliResult } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { placePendingOrder, type PendingOrder } from '../helpers/orders.js';

let tdb: TestDatabase;
let db: Db;
let stripe: FakeStripe;

test.before(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  stripe = await FakeStripe.start();
});
test.after.always(async () => {
  await tdb?.drop();
  await stripe?.close();
});

const HOUR = 3_600_000;

/** A pending order of 2 × 80.00 (stock 5 → 3), created `ageMs` ago, optionally with a PaymentIntent. */
function pendingOrder(ageMs: number, withIntent = false): Promise<PendingOrder> {
  const spec = { label: 'Expiring', price: '80.00', stock: 5, quantity: 2, ageMs };
  return withIntent ? placePendingOrder(db, spec, stripe) : placePendingOrder(db, spec);
}

async function statusOf(orderId: number): Promise<string> {
  return (await db('orders').where({ id: orderId }).first()).status;
}
async function stockOf(productId: number): Promise<number> {
  return Number((await db('products').where({ id: productId }).first()).stock);
}

const cli = (args: string[], env: Record<string, string | undefined> = stripe.env()): Promise<CliResult> =>
  cliInProcess(tdb, env)(['orders', 'expire', ...args]);

function jsonOf(res: CliResult): Array<{ order_id: number; action: string; outcome: string; status: string; intent_status: string | null }> {
  return JSON.parse(res.stdout);
}

test.serial('when pending orders are older than --older-than, then they are canceled with stock back and younger ones are left', async (t) => {
  const old = await pendingOrder(2 * HOUR);
  const young = await pendingOrder(10 * 60_000);
  t.is(await stockOf(old.productId), 3);

  const res = await cli(['--older-than', '1h']);
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, new RegExp(`\\b${old.order.id}\\b[\\s\\S]*canceled`));
  t.regex(res.stdout, /\$160\.00/);
  t.notRegex(res.stdout, /\x1b\[/);

  t.is(await statusOf(old.order.id), 'canceled');
  t.is(await stockOf(old.productId), 5);
  t.is(await statusOf(young.order.id), 'pending');
  t.is(await stockOf(young.productId), 3);

  // Run again: nothing left to do for it, and its stock is not returned twice.
  const again = await cli(['--older-than', '1h', '--json']);
  t.is(again.code, 0, again.stderr);
  t.false(jsonOf(again).some((a) => a.order_id === old.order.id));
  t.is(await stockOf(old.productId), 5);
});

test.serial('when an expired order has a PaymentIntent, then it is canceled at Stripe first, then locally with stock back', async (t) => {
  const f = await pendingOrder(3 * HOUR, true);
  const res = await cli(['--older-than', '2h', '--json']);
  t.is(res.code, 0, res.stderr);
  const mine = jsonOf(res).find((a) => a.order_id === f.order.id);
  t.like(mine, { action: 'canceled', status: 'canceled', intent_status: 'canceled' });

  t.is(stripe.intents.get(f.intent!.id)!.status, 'canceled');
  t.is(stripe.requestsTo('POST', `/v1/payment_intents/${f.intent!.id}/cancel`).length, 1);
  t.is(await statusOf(f.order.id), 'canceled');
  t.is(await stockOf(f.productId), 5);
});

test.serial('when Stripe says the expired order was paid after all, then the payment is applied instead and the stock stays sold', async (t) => {
  const f = await pendingOrder(3 * HOUR, true);
  stripe.setStatus(f.intent!.id, 'succeeded');
  const res = await cli(['--older-than', '2h', '--json']);
  t.is(res.code, 0, res.stderr);
  t.like(
    jsonOf(res).find((a) => a.order_id === f.order.id),
    { action: 'paid', status: 'paid', intent_status: 'succeeded', outcome: 'applied: paid' },
  );
  const row = await db('orders').where({ id: f.order.id }).first();
  t.is(row.status, 'paid');
  t.truthy(row.paid_at);
  t.is(await stockOf(f.productId), 3);
  t.is(stripe.intents.get(f.intent!.id)!.status, 'succeeded');
});

test.serial('when Stripe fails or is not configured, then orders with a PaymentIntent stay pending and the exit code is 1', async (t) => {
  const f = await pendingOrder(5 * HOUR, true);

  const unconfigured = await cli(['--older-than', '4h'], {});
  t.is(unconfigured.code, 1);
  t.regex(unconfigured.stderr, /STRIPE_SECRET_KEY/);
  t.is(await statusOf(f.order.id), 'pending');
  t.is(stripe.intents.get(f.intent!.id)!.status, 'requires_payment_method');

  stripe.failNext(500, { times: 10, when: (r) => r.path.startsWith(`/v1/payment_intents/${f.intent!.id}`) });
  const failing = await cli(['--older-than', '4h', '--json']);
  stripe.clearFailures();
  t.is(failing.code, 1);
  t.like(
    jsonOf(failing).find((a) => a.order_id === f.order.id),
    { action: 'error', status: 'pending' },
  );
  t.is(await statusOf(f.order.id), 'pending');
  t.is(await stockOf(f.productId), 3);

  // Healthy again: it expires normally.
  const ok = await cli(['--older-than', '4h']);
  t.is(ok.code, 0, ok.stderr);
  t.is(await statusOf(f.order.id), 'canceled');
  t.is(await stockOf(f.productId), 5);
});

test.serial('when --older-than is not a duration, then exit 2 with a usage line and nothing changes', async (t) => {
  const f = await pendingOrder(48 * HOUR);
  for (const bad of ['soon', '30', '-5m', '0m', '1w']) {
    const res = await cli(['--older-than', bad]);
    t.is(res.code, 2, `--older-than ${bad}: ${res.stderr}`);
    t.regex(res.stderr, /older-than/);
    t.is(res.stdout, '');
  }
  t.is(await statusOf(f.order.id), 'pending');
  t.is(await stockOf(f.productId), 3);

  // The accepted forms.
  const days = await cli(['--older-than', '1d', '--json']);
  t.is(days.code, 0, days.stderr);
  t.true(jsonOf(days).some((a) => a.order_id === f.order.id && a.action === 'canceled'));
});

test.serial(
  'when the shop owner marks a pending order with a PaymentIntent canceled, then the intent is canceled at Stripe and the stock comes back',
  async (t) => {
    const f = await pendingOrder(0, true);
    const res = await cliInProcess(tdb, stripe.env())(['orders', 'mark', String(f.order.id), 'canceled']);
    t.is(res.code, 0, res.stderr);
    t.is(await statusOf(f.order.id), 'canceled');
    t.is(await stockOf(f.productId), 5);
    t.is(stripe.intents.get(f.intent!.id)!.status, 'canceled', 'nobody can pay for it any more');
  },
);

test.serial(
  'when the shop owner cancels an order whose payment already went through at Stripe, then it is paid, not canceled, and the command fails',
  async (t) => {
    const f = await pendingOrder(0, true);
    stripe.setStatus(f.intent!.id, 'succeeded', { amount_received: f.order.total_cents });
    const res = await cliInProcess(tdb, stripe.env())(['orders', 'mark', String(f.order.id), 'canceled']);
    t.is(res.code, 1);
    t.regex(res.stderr, /payment went through/);
    t.is(await statusOf(f.order.id), 'paid');
    t.is(await stockOf(f.productId), 3, 'the stock stays sold');
  },
);
