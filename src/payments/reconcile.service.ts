/**
 * The shop owner's payment housekeeping (`watchstore orders expire` and `orders reconcile`).
 *
 * expire: pending orders older than the hold time are canceled and their stock comes back. An
 * order that has a PaymentIntent is canceled at Stripe first, so the customer can no longer pay
 * for an order that is gone; if Stripe says the payment already went through, the payment is
 * applied instead. Without a Stripe key such orders are left alone (and reported): canceling
 * them blind could leave a customer charged for a canceled order.
 *
 * reconcile: asks Stripe about every pending order that has a PaymentIntent and applies what
 * Stripe says (a missed webhook), then lists the recorded events that changed nothing. It also
 * follows up the orders customers canceled while Stripe could not be asked to cancel their
 * intent (cancel.service.ts): the intent is canceled now, or, if it was paid in between, the
 * order is reported as needing a refund (it stays canceled: its stock went back long ago).
 */
import type { Db } from '../db/connection.js';
import { AppError, isAppError } from '../errors.js';
import { formatMoney } from '../money.js';
import { canMove } from '../orders/order-states.js';
import {
  cancelOrder,
  clearIntentCancelUnconfirmed,
  getOrder,
  listIntentCancelUnconfirmed,
  listPendingOlderThan,
  type PublicOrder,
} from '../orders/orders.service.js';
import type { OutcomeKind, StripeEventRecord } from './payments.schemas.js';
import { receivedAmount, settleFromIntent, settleFromSession, type Settlement } from './settlement.js';
import { countEvents, listEvents } from './stripe-events.repository.js';
import {
  callStripe,
  cancelPaymentIntent,
  expireCheckoutSession,
  type CheckoutSession,
  getStripe,
  isStripeUnreachable,
  paymentsConfigured,
  stripeCause,
  type PaymentIntent,
  type StripeConfig,
} from './stripe-client.js';

export type ActionKind = 'paid' | 'canceled' | 'left' | 'skipped' | 'error' | 'refund';

/** What happened to one order. */
export interface OrderAction {
  order_id: number;
  user_id: number;
  created_at: string;
  total: number;
  total_cents: number;
  currency: string;
  payment_intent_id: string | null;
  /** The intent's status at Stripe, when Stripe was asked. */
  intent_status: string | null;
  action: ActionKind;
  /** `applied: …`, `ignored: …`, or what went wrong. */
  outcome: string;
  /** The order's status afterwards. */
  status: PublicOrder['status'];
}

export interface ExpireReport {
  cutoff: string;
  orders: OrderAction[];
  /** Orders that needed Stripe and could not be settled (error or skipped). */
  failed: number;
}

export interface ReconcileReport {
  orders: OrderAction[];
  failed: number;
  /** Canceled orders whose PaymentIntent was paid after all: a person must refund them. */
  refunds_needed: number;
  /** Recorded events that changed nothing and may need a person (newest first). */
  ignored_events: StripeEventRecord[];
  ignored_events_total: number;
}

/** Events that moved an order, or wanted what was already true: nothing for a person to look at. */
const NOTHING_TO_SEE: readonly OutcomeKind[] = ['applied', 'already_applied'];
const IGNORED_LIST_LIMIT = 50;

function action(order: PublicOrder, kind: ActionKind, outcome: string, intentStatus: string | null = null): OrderAction {
  return {
    order_id: order.id,
    user_id: order.user_id,
    created_at: order.created_at,
    total: order.total,
    total_cents: order.total_cents,
    currency: order.currency,
    payment_intent_id: order.payment_intent_id,
    intent_status: intentStatus,
    action: kind,
    outcome,
    status: order.status,
  };
}

/** A session's state as the report's intent_status column shows it, e.g. `session complete/paid`. */
function sessionStatus(session: CheckoutSession): string {
  return `session ${session.status ?? 'unknown'}/${session.payment_status ?? 'unknown'}`;
}

function fromSettlement(before: PublicOrder, s: Settlement, intentStatus: string | null): OrderAction {
  const after = s.order ?? before;
  const kind: ActionKind = s.changed ? (after.status === 'paid' ? 'paid' : 'canceled') : 'left';
  return { ...action(after, kind, s.outcome, intentStatus), payment_intent_id: after.payment_intent_id ?? before.payment_intent_id };
}

/** What the cancel's e-mail says: the hold ran out (docs/data.md, "E-mails"). */
const EXPIRED = { expired: true } as const;

/** Cancels pending orders created more than `olderThanMs` ago (see the module comment). */
export async function expirePendingOrders(db: Db, config: StripeConfig, opts: { olderThanMs: number; now?: Date }): Promise<ExpireReport> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - opts.olderThanMs);
  const orders: OrderAction[] = [];
  let stripeDown: string | undefined;

  for (const listed of await listPendingOlderThan(db, cutoff)) {
    // Fresh: a checkout may have given it an intent since the listing.
    const order = await getOrder(db, listed.id);
    if (!canMove(order.status, 'canceled')) {
      orders.push(action(order, 'left', `ignored: order ${order.status}`));
      continue;
    }
    const intentId = order.payment_intent_id;
    const sessionId = order.checkout_session_id;
    if (!intentId && !sessionId) {
      const moved = await cancelOrder(db, order.id, { onlyWithoutIntent: true, facts: EXPIRED });
      const after = await getOrder(db, order.id);
      const why = after.payment_intent_id
        ? 'ignored: a checkout gave it a PaymentIntent meanwhile (the next run settles it with Stripe)'
        : `ignored: order ${after.status}`;
      orders.push(action(after, moved ? 'canceled' : 'left', moved ? 'applied: canceled, stock returned' : why));
      continue;
    }
    if (!paymentsConfigured(config)) {
      orders.push(action(order, 'skipped', 'left pending: it has a PaymentIntent or Checkout Session and STRIPE_SECRET_KEY is not configured'));
      continue;
    }
    if (stripeDown) {
      orders.push(action(order, 'error', `left pending: ${stripeDown}`));
      continue;
    }
    try {
      if (sessionId) {
        // Hosted checkout: the session is expired at Stripe first (or found complete: then paid).
        const session = await expireCheckoutSession(config, sessionId);
        orders.push(fromSettlement(order, await settleFromSession(db, order, session, { facts: EXPIRED }), sessionStatus(session)));
      } else {
        const intent = await cancelPaymentIntent(config, intentId!);
        orders.push(fromSettlement(order, await settleFromIntent(db, order, intent, { facts: EXPIRED }), intent.status));
      }
    } catch (err) {
      if (!isAppError(err) || err.code !== 'PAYMENT_PROVIDER_ERROR') throw err;
      if (isStripeUnreachable(err)) stripeDown = err.message;
      orders.push(action(order, 'error', `left pending: ${err.message}`));
    }
  }
  return { cutoff: cutoff.toISOString(), orders, failed: orders.filter((o) => o.action === 'error' || o.action === 'skipped').length };
}

/** Asks Stripe about a PaymentIntent; PAYMENT_PROVIDER_ERROR for the whole run when Stripe cannot be reached. */
function stopWhenUnreachable(err: unknown): void {
  if (!isAppError(err) || err.code !== 'PAYMENT_PROVIDER_ERROR') throw err;
  if (isStripeUnreachable(err))
    throw new AppError('PAYMENT_PROVIDER_ERROR', `Stripe cannot be reached: ${stripeCause(err)?.message ?? err.message}`, undefined, { cause: err });
}

/**
 * A canceled order whose intent Stripe never confirmed canceled: cancel it now. Once Stripe's
 * answer is final (canceled, or paid after all) the order needs no more following up.
 */
async function followUpCanceled(db: Db, config: StripeConfig, order: PublicOrder): Promise<OrderAction> {
  const intentId = order.payment_intent_id as string;
  let intent: PaymentIntent;
  try {
    intent = await cancelPaymentIntent(config, intentId);
  } catch (err) {
    stopWhenUnreachable(err);
    return action(order, 'error', `left for the next run: ${(err as Error).message}`);
  }
  if (intent.status === 'canceled') {
    await clearIntentCancelUnconfirmed(db, order.id);
    return action(
      order,
      'canceled',
      'applied: PaymentIntent canceled at Stripe (the customer canceled the order while Stripe could not be asked)',
      intent.status,
    );
  }
  if (intent.status === 'succeeded') {
    await clearIntentCancelUnconfirmed(db, order.id);
    const taken = receivedAmount(intent);
    const amount = taken === undefined ? 'a payment' : formatMoney(taken, intent.currency ?? order.currency);
    return action(order, 'refund', `needs a refund: Stripe took ${amount} after the customer canceled the order`, intent.status);
  }
  return action(order, 'left', `ignored: payment ${intent.status} at Stripe; checked again next run`, intent.status);
}

/**
 * Applies Stripe's view of every pending order that has a PaymentIntent, follows up canceled
 * orders whose intent was never confirmed canceled, then lists the events that changed nothing.
 * PAYMENTS_UNAVAILABLE without a key; PAYMENT_PROVIDER_ERROR as soon as Stripe cannot be reached
 * at all.
 */
export async function reconcilePayments(db: Db, config: StripeConfig, opts: { now?: Date } = {}): Promise<ReconcileReport> {
  await getStripe(config);
  const pending = (await listPendingOlderThan(db, new Date((opts.now ?? new Date()).getTime() + 1000))).filter(
    (o) => o.payment_intent_id || o.checkout_session_id,
  );
  const orders: OrderAction[] = [];
  for (const order of pending) {
    if (order.checkout_session_id) {
      const sessionId = order.checkout_session_id;
      let session: CheckoutSession;
      try {
        session = await callStripe(config, 'retrieve the checkout session', (stripe) => stripe.checkout.sessions.retrieve(sessionId));
      } catch (err) {
        stopWhenUnreachable(err);
        orders.push(action(order, 'error', (err as Error).message));
        continue;
      }
      const current = await getOrder(db, order.id);
      // A session found expired lapsed unpaid: its cancel e-mail says the order expired.
      orders.push(fromSettlement(current, await settleFromSession(db, current, session, { facts: EXPIRED }), sessionStatus(session)));
      continue;
    }
    const intentId = order.payment_intent_id as string;
    let intent: PaymentIntent;
    try {
      intent = await callStripe(config, 'retrieve the payment', (stripe) => stripe.paymentIntents.retrieve(intentId));
    } catch (err) {
      stopWhenUnreachable(err);
      orders.push(action(order, 'error', (err as Error).message));
      continue;
    }
    const current = await getOrder(db, order.id);
    orders.push(fromSettlement(current, await settleFromIntent(db, current, intent), intent.status));
  }
  for (const order of await listIntentCancelUnconfirmed(db)) orders.push(await followUpCanceled(db, config, order));

  const worthALook = { excludeKinds: NOTHING_TO_SEE };
  return {
    orders,
    failed: orders.filter((o) => o.action === 'error').length,
    refunds_needed: orders.filter((o) => o.action === 'refund').length,
    ignored_events: await listEvents(db, { ...worthALook, limit: IGNORED_LIST_LIMIT }),
    ignored_events_total: await countEvents(db, worthALook),
  };
}
