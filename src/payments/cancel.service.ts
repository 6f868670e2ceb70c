/**
 * A customer cancels their pending order (POST /api/orders/:id/cancel).
 *
 * An order without a PaymentIntent is simply canceled and its stock comes back. One with an
 * intent is canceled at Stripe first, the way `orders expire` does it, so the customer cannot pay
 * for an order that is gone afterwards; what Stripe then says decides (settlement.ts):
 *   - the intent is canceled → the order is canceled, stock back;
 *   - the payment already succeeded → the payment is applied (the order is paid) and the cancel
 *     is refused (INVALID_TRANSITION), since the customer has paid for it;
 *   - the payment is processing → nothing changes, INVALID_TRANSITION (it cannot be taken back).
 * Best effort: when Stripe cannot be asked (unreachable, an error, or no STRIPE_SECRET_KEY) the
 * customer's cancel still goes through, and the order is marked (intent_cancel_unconfirmed_at)
 * so that `watchstore orders reconcile` cancels the intent later, or reports a payment taken in
 * between as needing a refund. The caller logs that case (the result says so).
 */
import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { AppError, isAppError } from '../errors.js';
import { assertMove, canMove, invalidTransition } from '../orders/order-states.js';
import { cancelOrder, getOrder, type PublicOrder } from '../orders/orders.service.js';
import { type Settlement, settleFromIntent, settleFromSession } from './settlement.js';
import { cancelPaymentIntent, expireCheckoutSession, paymentsConfigured, type StripeConfig } from './stripe-client.js';

type AfterMove = (trx: Knex.Transaction) => Promise<void>;

export interface CustomerCancel {
  order: PublicOrder;
  /**
   * What happened at Stripe: `none` (no PaymentIntent), `canceled` (Stripe canceled it), or
   * `unconfirmed` (Stripe could not be asked; `reason` says why, and reconcile follows up).
   */
  stripe: 'none' | 'canceled' | 'unconfirmed';
  reason?: string;
}

/** Cancels the order in the database; INVALID_TRANSITION when a racing request moved it first. */
async function cancelHere(db: Db, order: PublicOrder, opts: { intentCancelUnconfirmed: boolean; afterMove?: AfterMove }): Promise<PublicOrder> {
  const moved = await cancelOrder(db, order.id, opts);
  const after = await getOrder(db, order.id);
  if (!moved) throw invalidTransition(after, 'canceled');
  return after;
}

/**
 * A pending order canceled with its PaymentIntent (see the module comment): the customer's
 * cancel (with `userId`, NOT_FOUND for anyone else's order) and the shop owner's
 * `orders mark <id> canceled` alike.
 */
export async function cancelPendingOrder(
  db: Db,
  config: StripeConfig,
  input: {
    orderId: number;
    userId?: number;
    /**
     * Runs in the cancel's transaction when this call's database move cancels the order (an
     * admin's audit row). Not run when a concurrent webhook canceled it first: then `audited` is
     * false and the caller records it.
     */
    afterMove?: AfterMove;
  },
): Promise<CustomerCancel & { audited?: boolean }> {
  let order = await getOrder(db, input.orderId, { userId: input.userId });
  assertMove(order, 'canceled');
  const afterMove = input.afterMove;

  if (!order.payment_intent_id && !order.checkout_session_id) {
    if (await cancelOrder(db, order.id, { onlyWithoutIntent: true, afterMove })) return { order: await getOrder(db, order.id), stripe: 'none', audited: true };
    // Moved on, or a checkout gave it an intent or session just now: look again.
    order = await getOrder(db, order.id);
    if (!canMove(order.status, 'canceled') || !(order.payment_intent_id || order.checkout_session_id)) throw invalidTransition(order, 'canceled');
  }
  // A hosted checkout's session is the authority (its PaymentIntent, if one was linked by an
  // event, belongs to the session): expiring it at Stripe ends the payment page and its intent.
  if (order.checkout_session_id) return cancelWithSession(db, config, order, afterMove);
  const intentId = order.payment_intent_id!;

  const unconfirmed = async (reason: string): Promise<CustomerCancel & { audited?: boolean }> => ({
    order: await cancelHere(db, order, { intentCancelUnconfirmed: true, afterMove }),
    stripe: 'unconfirmed',
    reason,
    audited: true,
  });
  if (!paymentsConfigured(config)) return unconfirmed('STRIPE_SECRET_KEY is not configured');

  let intent: Awaited<ReturnType<typeof cancelPaymentIntent>>;
  try {
    intent = await cancelPaymentIntent(config, intentId);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'PAYMENT_PROVIDER_ERROR') throw err;
    return unconfirmed(err.message);
  }

  const settled = await settleFromIntent(db, order, intent, { afterMove });
  return canceledAtStripe(db, order.id, settled, `the payment provider reports its payment as ${intent.status ?? 'in an unknown state'}`);
}

/**
 * What Stripe's answer to a cancel did to the order: canceled, by this request (afterMove ran in
 * its transaction) or by the webhook that Stripe's cancel set off (then the caller records its
 * own change); else paid meanwhile, or still pending for `stillPending`.
 */
async function canceledAtStripe(db: Db, orderId: number, settled: Settlement, stillPending: string): Promise<CustomerCancel & { audited?: boolean }> {
  const after = settled.order ?? (await getOrder(db, orderId));
  if (after.status === 'canceled') return { order: after, stripe: 'canceled', audited: settled.changed };
  if (after.status !== 'pending') {
    throw new AppError('INVALID_TRANSITION', `Order ${orderId} is ${after.status}: its payment went through before it could be canceled.`);
  }
  throw new AppError('INVALID_TRANSITION', `Order ${orderId} cannot be canceled now: ${stillPending}.`);
}

/**
 * Hosted checkout: the order's Checkout Session is expired at Stripe first, so its page can no
 * longer take a payment; a session found complete and paid pays the order instead (and the
 * cancel is refused). When Stripe cannot be asked the order is canceled anyway: an open session
 * expires by itself within a day, and a payment made on it meanwhile finds the order canceled
 * and is recorded for `orders reconcile` to list.
 */
async function cancelWithSession(
  db: Db,
  config: StripeConfig,
  order: PublicOrder,
  afterMove: AfterMove | undefined,
): Promise<CustomerCancel & { audited?: boolean }> {
  const sessionId = order.checkout_session_id!;
  const anyway = async (reason: string): Promise<CustomerCancel & { audited?: boolean }> => ({
    order: await cancelHere(db, order, { intentCancelUnconfirmed: false, afterMove }),
    stripe: 'unconfirmed',
    reason,
    audited: true,
  });
  if (!paymentsConfigured(config)) return anyway('STRIPE_SECRET_KEY is not configured');
  let session: Awaited<ReturnType<typeof expireCheckoutSession>>;
  try {
    session = await expireCheckoutSession(config, sessionId);
  } catch (err) {
    if (!isAppError(err) || err.code !== 'PAYMENT_PROVIDER_ERROR') throw err;
    return anyway(err.message);
  }
  const settled = await settleFromSession(db, order, session, { afterMove });
  return canceledAtStripe(db, order.id, settled, `its payment on Stripe's page is ${session.payment_status ?? 'in progress'}`);
}
