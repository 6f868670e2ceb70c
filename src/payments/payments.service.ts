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
import type { ShippingAddress } from '../orders/orders.schemas.js';
import {
  attachCheckoutSession,
  attachPaymentIntent,
  markIntentCancelUnconfirmed,
  createOrderFromCart,
  getOrder,
  setShippingAddress,
  type PublicOrder,
  type ShippingRates,
} from '../orders/orders.service.js';
import type { CheckoutResult, HostedCheckoutResult } from './payments.schemas.js';
import { settleFromSession } from './settlement.js';
import { callStripe, getStripe, type CheckoutSession, type PaymentIntent, type StripeConfig } from './stripe-client.js';

/** What checkout needs of the configuration. */
export type CheckoutConfig = StripeConfig & { currency: string; shipping?: ShippingRates; storeUrl?: string; shippingCountries?: string[] };

export interface CheckoutInput {
  userId: number;
  /** Pay this order; without it the order is made from the user's cart first. */
  orderId?: number;
  /** Idempotency-Key for making the order from the cart. */
  idempotencyKey?: string;
  /** Where the order goes (PaymentIntents; the hosted page collects it itself). */
  shippingAddress?: ShippingAddress;
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
/** The order to pay: the given one of the user's, or a new one made from the cart. */
async function orderToPay(db: Db, config: CheckoutConfig, input: CheckoutInput): Promise<PublicOrder> {
  if (input.orderId === undefined) {
    const made = await createOrderFromCart(db, input.userId, {
      idempotencyKey: input.idempotencyKey,
      currency: config.currency,
      shipping: config.shipping,
      shippingAddress: input.shippingAddress,
    });
    return made.order;
  }
  let order = await getOrder(db, input.orderId, { userId: input.userId });
  if (input.shippingAddress && !order.shipping_address && canMove(order.status, 'paid')) {
    await setShippingAddress(db, order.id, input.shippingAddress);
    order = await getOrder(db, order.id);
  }
  return order;
}

/** An order is paid one way: through its PaymentIntent or through its Checkout Session. */
function otherWay(order: PublicOrder, mode: 'payment_intent' | 'hosted'): AppError | undefined {
  if (mode === 'payment_intent' && order.checkout_session_id)
    return new AppError('ORDER_NOT_PAYABLE', `Order ${order.id} is being paid on Stripe's hosted page (mode hosted); check it out that way.`);
  if (mode === 'hosted' && order.payment_intent_id)
    return new AppError('ORDER_NOT_PAYABLE', `Order ${order.id} is being paid with a PaymentIntent (mode payment_intent); check it out that way.`);
  return undefined;
}

/** The intent's `shipping` from the order's address. */
function intentShipping(order: PublicOrder) {
  const a = order.shipping_address;
  if (!a) return undefined;
  return {
    name: a.name,
    address: { line1: a.line1, line2: a.line2 ?? undefined, city: a.city, postal_code: a.postal_code, state: a.region ?? undefined, country: a.country },
  };
}

export async function checkout(db: Db, config: CheckoutConfig, input: CheckoutInput): Promise<CheckoutResult> {
  await getStripe(config); // PAYMENTS_UNAVAILABLE before an order is made from the cart

  const order = await orderToPay(db, config, input);
  if (!canMove(order.status, 'paid')) throw notPayable(order);
  const other = otherWay(order, 'payment_intent');
  if (other) throw other;

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
        ...(order.shipping_address ? { shipping: intentShipping(order) } : {}),
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

/* ------------------------------------------------------------------------------------------ */
/* Hosted checkout: a Stripe Checkout Session                                                 */

/** Stripe's idempotency key for an order's session: same order and amount → same session. */
export function sessionIdempotencyKey(order: Pick<PublicOrder, 'id' | 'total_cents'>): string {
  return `order-${order.id}-${order.total_cents}-session`;
}

function hostedResult(order: PublicOrder, session: CheckoutSession): HostedCheckoutResult {
  if (!session.url) throw new AppError('PAYMENT_PROVIDER_ERROR', 'The payment provider returned a Checkout Session without a URL.');
  return { order_id: order.id, checkout_session_id: session.id, url: session.url };
}

/**
 * Hosted checkout (docs/api.md, "Hosted checkout"): the order (made from the cart as for
 * PaymentIntents, or the given pending one) is paid on Stripe's page through one Checkout
 * Session, whose lines are the order's lines at their stored prices plus the shipping line, so
 * its amount_total is the order's total. The session's id is stored on the order; checking out
 * again returns it while it is open. A session found complete or expired is settled first
 * (settlement.ts), and the order is then not payable any more.
 */
export async function hostedCheckout(db: Db, config: CheckoutConfig, input: CheckoutInput): Promise<HostedCheckoutResult> {
  await getStripe(config);
  const order = await orderToPay(db, config, { ...input, shippingAddress: undefined });
  if (!canMove(order.status, 'paid')) throw notPayable(order);
  const other = otherWay(order, 'hosted');
  if (other) throw other;

  if (order.checkout_session_id) {
    const existing = order.checkout_session_id;
    const session = await callStripe(config, 'retrieve the checkout session', (stripe) => stripe.checkout.sessions.retrieve(existing));
    if (session.status === 'open') return hostedResult(order, session);
    const settled = await settleFromSession(db, order, session);
    const now = settled.order ?? (await getOrder(db, order.id));
    if (now.status !== 'pending') throw notPayable(now);
    throw new AppError(
      'ORDER_NOT_PAYABLE',
      `Order ${order.id}: its payment on Stripe's page is ${session.payment_status ?? 'in progress'}; wait for it to finish.`,
    );
  }

  const store = config.storeUrl ?? 'http://localhost:3000';
  const ids = { order_id: String(order.id), user_id: String(order.user_id) };
  const session = await callStripe(config, 'start the hosted checkout', (stripe) =>
    stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: order.items.map((i) => ({
          quantity: i.quantity,
          price_data: { currency: order.currency, unit_amount: i.unit_price_cents, product_data: { name: i.name } },
        })),
        shipping_options: [
          {
            shipping_rate_data: {
              type: 'fixed_amount',
              display_name: order.shipping_cents === 0 ? 'Free shipping' : 'Shipping',
              fixed_amount: { amount: order.shipping_cents, currency: order.currency },
            },
          },
        ],
        shipping_address_collection: { allowed_countries: (config.shippingCountries ?? ['US']) as never },
        client_reference_id: String(order.id),
        metadata: ids,
        payment_intent_data: { metadata: ids },
        success_url: `${store}/success?session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${store}/cancel`,
      },
      { idempotencyKey: sessionIdempotencyKey(order) },
    ),
  );
  try {
    await attachCheckoutSession(db, order.id, session.id);
  } catch (err) {
    if (!(isAppError(err) && err.code === 'CONFLICT')) throw err;
    const now = await getOrder(db, order.id);
    if (now.checkout_session_id !== session.id) throw err;
  }

  const after = await getOrder(db, order.id);
  if (after.status !== 'pending') {
    // Canceled meanwhile: the page must not stay payable. If Stripe cannot be told, the session
    // expires by itself (24 h) and its completed event would find the order canceled.
    await callStripe(config, 'expire the checkout session', (stripe) => stripe.checkout.sessions.expire(session.id)).catch(() => undefined);
    throw notPayable(after);
  }
  return hostedResult(after, session);
}
