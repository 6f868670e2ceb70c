/**
 * `watchstore orders refund <id> [--amount] [--restock] [--yes]` (in-process, against a real
 * database and the local fake Stripe): the admin API's refund service, audited as
 * `cli:<os user>`; a confirmation on a terminal, --yes needed without one (docs/cli.md).
 */
import os from 'node:os';
import test from 'ava';
import { markPaid } from '../../src/orders/orders.service.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { placePendingOrder } from '../helpers/orders.js';

let database: TestDatabase;
let stripe: FakeStripe;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createTestDatabase();
  stripe = await FakeStripe.start();
  cli = cliInProcess(database, stripe.env());
});
test.after.always(async () => {
  await database?.drop();
  await stripe?.close();
});

const me = `cli:${os.userInfo().username}`;

async function paidOrder(label: string) {
  const placed = await placePendingOrder(database.db, { label, price: '30.00', stock: 5, quantity: 2 }, stripe);
  stripe.setStatus(placed.intent.id, 'succeeded');
  await markPaid(database.db, placed.order.id);
  return placed;
}

test('orders refund --amount then --restock --yes refunds in part, then the rest with the stock back, audited as cli:<os user>', async (t) => {
  const placed = await paidOrder('Cr');
  const part = await cli(['orders', 'refund', String(placed.order.id), '--amount', '12.34', '--yes', '--json']);
  t.is(part.code, 0, part.stderr);
  const out = JSON.parse(part.stdout);
  t.is(out.refund.amount_cents, 1234);
  t.like(out.order, { status: 'paid', refunded_cents: 1234 });

  const rest = await cli(['orders', 'refund', String(placed.order.id), '--restock', '--yes']);
  t.is(rest.code, 0, rest.stderr);
  t.regex(rest.stdout, /refunded in all, order refunded; its stock is back/);
  const row = await database.db('orders').where('id', placed.order.id).first();
  t.is(row.status, 'refunded');
  t.is(Number(row.refunded_cents), 6000);
  t.is(Number((await database.db('products').where('id', placed.productId).first()).stock), 5);
  t.is(stripe.intents.get(placed.intent.id)?.amount_refunded, 6000);
  const audit = await database.db('audit_log').where({ target_type: 'order', target_id: String(placed.order.id), action: 'order.refund' });
  t.is(audit.length, 2);
  t.true(audit.every((a) => a.actor === me));
});

test('orders refund asks on a terminal (no refunds nothing), needs --yes without one, and refuses more than was paid', async (t) => {
  const placed = await paidOrder('Cq');
  const no = await cli(['orders', 'refund', String(placed.order.id)], { tty: true, answers: [{ when: /Refund \$60\.00 of order/, type: 'n\r' }] });
  t.is(no.code, 1, no.stderr);
  const piped = await cli(['orders', 'refund', String(placed.order.id)]);
  t.is(piped.code, 2, piped.stderr);
  t.regex(piped.stderr, /needs --yes/);
  const much = await cli(['orders', 'refund', String(placed.order.id), '--amount', '60.01', '--yes']);
  t.is(much.code, 1, much.stderr);
  t.is(stripe.requestsTo('POST', '/v1/refunds').filter((r) => r.body.payment_intent === placed.intent.id).length, 0);
  t.is(Number((await database.db('orders').where('id', placed.order.id).first()).refunded_cents), 0);
  t.deepEqual(await database.db('audit_log').where({ target_type: 'order', target_id: String(placed.order.id) }), []);
});
