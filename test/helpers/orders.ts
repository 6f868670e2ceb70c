/**
 * A pending order placed through the order service, for the tests of what happens to orders
 * afterwards (the CLI's expire and reconcile): a new customer, a new product, the customer's cart,
 * and, when a fake Stripe is given, a PaymentIntent for the order's total stored on it.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/connection.js';
import { toDbTime } from '../../src/db/values.js';
import { attachPaymentIntent, type PublicOrder } from '../../src/orders/orders.service.js';
import type { FakeIntent, FakeStripe } from './fake-stripe.js';
import { createOrderFromCart, createProduct, createUser } from './services.js';

const run = randomBytes(3).toString('hex');
let seq = 0;

export interface PendingOrder<I extends FakeIntent | undefined = FakeIntent | undefined> {
  order: PublicOrder;
  userId: number;
  productId: number;
  intent: I;
}

export interface PendingOrderSpec {
  /** Names the product ("<label> watch …") and the user, for readable failures. */
  label: string;
  price: string;
  stock: number;
  quantity: number;
  /** Backdates created_at by this much. */
  ageMs?: number;
}

export async function placePendingOrder(db: Db, spec: PendingOrderSpec): Promise<PendingOrder<undefined>>;
export async function placePendingOrder(db: Db, spec: PendingOrderSpec, stripe: FakeStripe): Promise<PendingOrder<FakeIntent>>;
export async function placePendingOrder(db: Db, spec: PendingOrderSpec, stripe?: FakeStripe): Promise<PendingOrder> {
  const n = ++seq;
  const name = `${spec.label.toLowerCase()}${run}_${n}`;
  const u = await createUser(db, { username: name, email: `${name}@example.com`, password: 'correct horse' });
  const p = await createProduct(db, { name: `${spec.label} watch ${run} ${n}`, price: spec.price, stock: spec.stock });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: spec.quantity });
  const { order } = await createOrderFromCart(db, u.id);
  if (spec.ageMs)
    await db('orders')
      .where({ id: order.id })
      .update({ created_at: toDbTime(new Date(Date.now() - spec.ageMs)) });
  let intent: FakeIntent | undefined;
  if (stripe) {
    intent = stripe.addIntent({ amount: order.total_cents, metadata: { order_id: String(order.id), user_id: String(u.id) } });
    await attachPaymentIntent(db, order.id, intent.id);
  }
  return { order, userId: u.id, productId: p.id, intent };
}
