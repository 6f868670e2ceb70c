/**
 * Checkout: one Stripe PaymentIntent per pending order, for the order's total as the database has
 * it (never an amount from the request), with the order and user ids in its metadata.
 *
 * One intent per order: the Stripe idempotency key is derived from the order id and amount, so a
 * repeated (or concurrent) checkout gets the same intent back from Stripe, and the intent's id is
 * stored on the order; once stored, checkout retrieves that intent instead of creating one.
 */
import type { Db } from '../db/connection.js';
import { AppError, isAppError } from '../errors.js';
import { centsToNumber } from '../money.js';
import { canMove } from '../orders/order-states.js';
import { attachPaymentIntent, markIntentCancelUnconfirmed, createOrderFromCart, getOrder, type PublicOrder } from '../orders/orders.service.js';
import type { CheckoutResult } from './payments.schemas.js';
import { callStripe, getStripe, type PaymentIntent, type StripeConfig } from './stripe-client.js';

export interface CheckoutInput {
  userId: number;
  /** Pay this order; without it the order is made from the user's cart first. */
  orderId?: number;
  /** Idempotency-Key for making the order from the cart. */
  idempotencyKey?: string;
}

/** Stripe's idempotency key for an order's intent: same order and amount → same intent. */
export function intentIdempotencyKey(order: Pick<PublicOrder, 'id' | 'total_cents'>): string {
  return `order-${order.id}-${order.total_cents}`;
}

function notPayable(order: PublicOrder): AppError {
  return new AppError('ORDER_NOT_PAYABLE', `Order ${order.id} is ${order.status}; only pending orders can be paid.`);
}

function result(order: PublicOrder, intent: PaymentIntent): CheckoutResult {
  if (!intent.client_secret) throw new AppError('PAYMENT_PROVIDER_ERROR', 'The payment provider returned a PaymentIntent without a client secret.');
  return {
    order_id: order.id,
    payment_intent_id: intent.id,
    client_secret: intent.client_secret,
    amount: centsToNumber(order.total_cents),
    amount_cents: order.total_cents,
    currency: order.currency,
  };
}

/**
 * Starts (or resumes) paying the user's pending order. NOT_FOUND for someone else's order,
 * ORDER_NOT_PAYABLE unless pending, PAYMENTS_UNAVAILABLE without a Stripe key (checked before
 * anything is written), PAYMENT_PROVIDER_ERROR when Stripe fails (the order is left as it was).
 */
export async function checkout(db: Db, config: StripeConfig & { currency: string }, input: CheckoutInput): Promise<CheckoutResult> {
  await getStripe(config); // PAYMENTS_UNAVAILABLE before an order is made from the cart

  const order =
    input.orderId === undefined
      ? (await createOrderFromCart(db, input.userId, { idempotencyKey: input.idempotencyKey, currency: config.currency })).order
      : await getOrder(db, input.orderId, { userId: input.userId });
  if (!canMove(order.status, 'paid')) throw notPayable(order);

  if (order.payment_intent_id) {
    const existing = order.payment_intent_id;
    const intent = await callStripe(config, 'retrieve the payment', (stripe) => stripe.paymentIntents.retrieve(existing));
    return result(order, intent);
  }

  const intent = await callStripe(config, 'start the payment', (stripe) =>
    stripe.paymentIntents.create(
      {
        amount: order.total_cents,
        currency: order.currency,
        metadata: { order_id: String(order.id), user_id: String(order.user_id) },
        automatic_payment_methods: { enabled: true },
      },
      { idempotencyKey: intentIdempotencyKey(order) },
    ),
  );
  try {
    await attachPaymentIntent(db, order.id, intent.id);
  } catch (err) {
    // A concurrent checkout stored the same intent first: that is the same outcome.
    if (!(isAppError(err) && err.code === 'CONFLICT')) throw err;
    const now = await getOrder(db, order.id);
    if (now.payment_intent_id !== intent.id) throw err;
  }

  // The order may have been canceled (by the customer or `orders expire`) while Stripe was asked:
  // then the fresh intent must not stay payable.
  const after = await getOrder(db, order.id);
  if (after.status !== 'pending') {
    await callStripe(config, 'cancel the payment', (stripe) => stripe.paymentIntents.cancel(intent.id)).catch(async () => {
      // Stripe could not be told: mark it, so `orders reconcile` cancels the intent later (or
      // reports a payment taken in between as needing a refund).
      if (after.status === 'canceled') await markIntentCancelUnconfirmed(db, after.id);
    });
    throw notPayable(after);
  }
  return result(after, intent);
}
