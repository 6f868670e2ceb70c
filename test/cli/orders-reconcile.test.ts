/**
 * `watchstore orders reconcile` as a child process (the compiled CLI), on SQLite or MariaDB,
 * against the fake Stripe: pending orders whose webhook never arrived are settled from what
 * Stripe says, the recorded events that changed nothing are listed, and orders a customer
 * canceled while Stripe could not be asked to cancel their PaymentIntent are followed up.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { cancelOrder } from '../../src/orders/orders.service.js';
import { cliInProcess, type CliResult } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe, type FakeIntent } from '../helpers/fake-stripe.js';
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

const run = randomBytes(3).toString('hex');

type Fixture = PendingOrder<FakeIntent>;

/** A pending order of 1 × 250.00 (stock 4 → 3) whose PaymentIntent is stored on it. */
function checkedOutOrder(): Promise<Fixture> {
  return placePendingOrder(db, { label: 'Reconciled', price: '250.00', stock: 4, quantity: 1 }, stripe);
}

async function statusOf(orderId: number): Promise<string> {
  return (await db('orders').where({ id: orderId }).first()).status;
}
async function stockOf(productId: number): Promise<number> {
  return Number((await db('products').where({ id: productId }).first()).stock);
}

const cli = (args: string[], env: Record<string, string | undefined> = stripe.env()): Promise<CliResult> =>
  cliInProcess(tdb, env)(['orders', 'reconcile', ...args]);

interface Report {
  orders: Array<{ order_id: number; action: string; outcome: string; status: string; intent_status: string | null }>;
  ignored_events: Array<{ id: string; outcome: string; order_id: number | null }>;
  ignored_events_total: number;
}

test.serial('when Stripe knows more than the database, then reconcile applies it: paid, canceled with stock back, or left', async (t) => {
  const paid = await checkedOutOrder();
  stripe.setStatus(paid.intent.id, 'succeeded');
  const canceled = await checkedOutOrder();
  stripe.setStatus(canceled.intent.id, 'canceled');
  const waiting = await checkedOutOrder();
  const short = await checkedOutOrder();
  stripe.setStatus(short.intent.id, 'succeeded', { amount_received: 100 });

  const res = await cli(['--json']);
  t.is(res.code, 0, res.stderr);
  const report: Report = JSON.parse(res.stdout);
  const of = (f: Fixture) => report.orders.find((o) => o.order_id === f.order.id);
  t.like(of(paid), { action: 'paid', status: 'paid', intent_status: 'succeeded' });
  t.like(of(canceled), { action: 'canceled', status: 'canceled', intent_status: 'canceled' });
  t.like(of(waiting), { action: 'left', status: 'pending', intent_status: 'requires_payment_method' });
  t.like(of(short), { action: 'left', status: 'pending', outcome: `ignored: amount mismatch 100 != ${short.order.total_cents}` });

  t.is(await statusOf(paid.order.id), 'paid');
  t.is(await stockOf(paid.productId), 3);
  t.is(await statusOf(canceled.order.id), 'canceled');
  t.is(await stockOf(canceled.productId), 4);
  t.is(await statusOf(waiting.order.id), 'pending');
  t.is(await statusOf(short.order.id), 'pending');

  // A second run has nothing new to apply for them: stock comes back only once.
  const again = await cli(['--json']);
  t.is(again.code, 0, again.stderr);
  const second: Report = JSON.parse(again.stdout);
  t.false(second.orders.some((o) => o.order_id === paid.order.id || o.order_id === canceled.order.id));
  t.is(await stockOf(canceled.productId), 4);
});

test.serial('when events were recorded that changed nothing, then reconcile lists them (and not the harmless repeats)', async (t) => {
  const f = await checkedOutOrder();
  await db('stripe_events').insert([
    {
      id: `evt_mismatch_${run}`,
      type: 'payment_intent.succeeded',
      payment_intent_id: f.intent.id,
      order_id: f.order.id,
      outcome: `ignored: amount mismatch 1000 != ${f.order.total_cents}`,
      outcome_kind: 'mismatch',
    },
    {
      id: `evt_after_cancel_${run}`,
      type: 'payment_intent.succeeded',
      payment_intent_id: 'pi_gone',
      order_id: f.order.id,
      outcome: 'ignored: order canceled',
      outcome_kind: 'wrong_state',
    },
    {
      id: `evt_repeat_${run}`,
      type: 'payment_intent.canceled',
      payment_intent_id: 'pi_gone',
      order_id: f.order.id,
      outcome: 'ignored: order already canceled',
      outcome_kind: 'already_applied',
    },
    {
      id: `evt_applied_${run}`,
      type: 'payment_intent.succeeded',
      payment_intent_id: 'pi_fine',
      order_id: f.order.id,
      outcome: 'applied: paid',
      outcome_kind: 'applied',
    },
  ]);

  const json = await cli(['--json']);
  t.is(json.code, 0, json.stderr);
  const report: Report = JSON.parse(json.stdout);
  const ids = report.ignored_events.map((e) => e.id);
  t.true(ids.includes(`evt_mismatch_${run}`));
  t.true(ids.includes(`evt_after_cancel_${run}`));
  t.false(ids.includes(`evt_repeat_${run}`));
  t.false(ids.includes(`evt_applied_${run}`));
  t.is(report.ignored_events_total, report.ignored_events.length);

  const human = await cli([]);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, new RegExp(`evt_mismatch_${run}`));
  t.regex(human.stdout, /ignored: amount mismatch 1000/);
  t.regex(human.stdout, /ignored: order canceled/);
  t.regex(human.stdout, new RegExp(`\\b${f.order.id}\\b`));
  t.notRegex(human.stdout, /\x1b\[/);
});

test.serial('when STRIPE_SECRET_KEY is not set or Stripe cannot be reached, then exit 1 with one line and nothing changes', async (t) => {
  const f = await checkedOutOrder();
  stripe.setStatus(f.intent.id, 'succeeded');

  const unconfigured = await cli([], {});
  t.is(unconfigured.code, 1);
  t.regex(unconfigured.stderr, /STRIPE_SECRET_KEY/);
  t.is(unconfigured.stdout, '');

  // A port that refuses connections: a server that was listening and is closed.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const unreachable = await cli(['--json'], { STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: `http://127.0.0.1:${port}` });
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /Stripe|payment provider/i);
  t.is(unreachable.stdout, '');

  t.is(await statusOf(f.order.id), 'pending');
  t.is(await stockOf(f.productId), 3);
});

/** A checked-out order the customer canceled while Stripe could not be asked (stock back, 4). */
async function canceledUnconfirmed(): Promise<Fixture> {
  const f = await checkedOutOrder();
  if (!(await cancelOrder(db, f.order.id, { intentCancelUnconfirmed: true }))) throw new Error('cancel failed');
  return f;
}
const unconfirmedSince = async (orderId: number) => (await db('orders').where({ id: orderId }).first()).intent_cancel_unconfirmed_at;

test.serial('when a canceled order’s intent is still payable at Stripe, then reconcile cancels it there and exits 0', async (t) => {
  const f = await canceledUnconfirmed();
  t.truthy(await unconfirmedSince(f.order.id));
  const r = await cli(['--json']);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report & { refunds_needed: number };
  t.like(
    report.orders.find((o) => o.order_id === f.order.id),
    { action: 'canceled', status: 'canceled', intent_status: 'canceled' },
  );
  t.is(report.refunds_needed, 0);
  t.is(stripe.intents.get(f.intent.id)?.status, 'canceled');
  t.is(await unconfirmedSince(f.order.id), null);
  t.is(await stockOf(f.productId), 4);
});

test.serial('when a canceled order’s intent was paid after all, then reconcile lists it as needing a refund, once, and exits 1 saying so', async (t) => {
  const f = await canceledUnconfirmed();
  stripe.setStatus(f.intent.id, 'succeeded');
  const r = await cli(['--no-color']);
  t.is(r.code, 1);
  t.regex(r.stderr, /1 canceled order was paid at Stripe after all; refund it in Stripe/);
  t.regex(r.stdout, /needs a refund: Stripe took \$250\.00 after the customer canceled the order/);
  t.regex(r.stdout, new RegExp(`\\b${f.order.id}\\b`));
  t.is(await statusOf(f.order.id), 'canceled');
  t.is(await unconfirmedSince(f.order.id), null);

  const again = await cli(['--json']);
  t.is(again.code, 0, again.stderr);
  t.false((JSON.parse(again.stdout) as Report).orders.some((o) => o.order_id === f.order.id));
});
