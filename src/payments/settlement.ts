/**
 * What a PaymentIntent's state means for its order, in one place: the webhook, `orders reconcile`
 * and `orders expire` all settle orders through these functions, so they cannot disagree.
 *
 * Every outcome is a short sentence that starts with `applied` (the order moved) or `ignored`
 * (nothing changed, and why). The order moves only through the orders service's guarded updates,
 * so a racing webhook, CLI run or customer cancel can never move it twice.
 */
import type { Knex } from 'knex';
import { isAppError } from '../errors.js';
import {
  attachCheckoutSession,
  attachPaymentIntent,
  cancelOrder,
  findOrderByCheckoutSession,
  findOrderByPaymentIntent,
  getOrder,
  markPaid,
  setCustomerEmail,
  setShippingAddress,
  type MoveOptions,
  type PublicOrder,
} from '../orders/orders.service.js';
import { shippingAddressSchema } from '../orders/orders.schemas.js';
import { emailSchema } from '../users/users.schemas.js';
import { canMove } from '../orders/order-states.js';
import type { OrderStatus } from '../orders/orders.schemas.js';
import type { OutcomeKind } from './payments.schemas.js';

type Runner = Knex | Knex.Transaction;

/** The fields of a PaymentIntent (from the API or an event) that settling looks at. */
export interface IntentFacts {
  id: string;
  status?: string;
  amount?: number | null;
  amount_received?: number | null;
  currency?: string | null;
  metadata?: Record<string, string> | null;
  last_payment_error?: { code?: string | null; message?: string | null } | null;
}

export interface Settlement {
  /** True when this call moved the order. */
  changed: boolean;
  /** What happened, for code (stored in stripe_events.outcome_kind). */
  kind: OutcomeKind;
  /** The same for people: `applied: …` or `ignored: …` and why. */
  outcome: string;
  order?: PublicOrder;
}

export const ignored = (kind: OutcomeKind, why: string, order?: PublicOrder): Settlement => ({ changed: false, kind, outcome: `ignored: ${why}`, order });
const applied = (what: string, order: PublicOrder): Settlement => ({ changed: true, kind: 'applied', outcome: `applied: ${what}`, order });

/** The amount Stripe actually took (amount_received once succeeded), in minor units. */
export function receivedAmount(intent: IntentFacts): number | undefined {
  const received = intent.amount_received ?? 0;
  if (received > 0) return received;
  return typeof intent.amount === 'number' ? intent.amount : undefined;
}

/**
 * The order an intent belongs to: the one that stores the intent's id, or else the one named in
 * its metadata, provided that order has no other intent and the metadata's user matches.
 * In the second case the intent's id is stored on the order (within the caller's transaction).
 */
export async function findOrderForIntent(db: Runner, intent: IntentFacts): Promise<{ order?: PublicOrder; reason?: string }> {
  const byIntent = await findOrderByPaymentIntent(db, intent.id);
  if (byIntent) return { order: byIntent };

  const metaOrderId = Number(intent.metadata?.order_id);
  if (!Number.isSafeInteger(metaOrderId) || metaOrderId <= 0) return { reason: 'unknown payment intent' };
  let order: PublicOrder;
  try {
    order = await getOrder(db, metaOrderId);
  } catch (err) {
    if (isAppError(err) && err.code === 'NOT_FOUND') return { reason: `unknown payment intent (order ${metaOrderId} from its metadata does not exist)` };
    throw err;
  }
  if (order.payment_intent_id && order.payment_intent_id !== intent.id) {
    return { reason: `order ${order.id} belongs to another payment intent (${order.payment_intent_id})` };
  }
  const metaUserId = intent.metadata?.user_id;
  if (metaUserId !== undefined && Number(metaUserId) !== order.user_id) {
    return { reason: `metadata user ${metaUserId} does not match order ${order.id}` };
  }
  if (!order.payment_intent_id) {
    try {
      await attachPaymentIntent(db, order.id, intent.id);
    } catch (err) {
      if (isAppError(err)) return { reason: `payment intent could not be linked to order ${order.id}: ${err.message}` };
      throw err;
    }
    order = { ...order, payment_intent_id: intent.id };
  }
  return { order };
}

/** Nothing done because the order is not pending: already `what`, or in another state. */
const notPending = (order: PublicOrder, what: OrderStatus): Settlement =>
  order.status === what ? ignored('already_applied', `order already ${what}`, order) : ignored('wrong_state', `order ${order.status}`, order);

/** Re-reads the order after a guarded update that did not move it, to say why. */
async function notMoved(db: Runner, orderId: number, what: OrderStatus): Promise<Settlement> {
  return notPending(await getOrder(db, orderId), what);
}

/** A succeeded payment: `paid` when the order is pending and the amount and currency match. */
export async function settleSucceeded(db: Runner, order: PublicOrder, intent: IntentFacts, paidAt?: Date): Promise<Settlement> {
  if (!canMove(order.status, 'paid')) return notPending(order, 'paid');
  const received = receivedAmount(intent);
  if (received !== order.total_cents) return ignored('mismatch', `amount mismatch ${received ?? 'none'} != ${order.total_cents}`, order);
  const currency = (intent.currency ?? '').toLowerCase();
  if (currency !== order.currency.toLowerCase()) return ignored('mismatch', `currency mismatch ${currency || 'none'} != ${order.currency}`, order);
  if (await markPaid(db, order.id, paidAt)) return applied('paid', await getOrder(db, order.id));
  return notMoved(db, order.id, 'paid');
}

/** What a cancel's caller adds: an admin's audit row in its transaction, what its e-mail says. */
export interface CancelOptions {
  afterMove?: MoveOptions['afterMove'];
  /** `{expired: true}`: the order's hold ran out (`orders expire`, an expired session). */
  facts?: MoveOptions['facts'];
}

/** A canceled intent: the pending order is canceled and its stock given back (exactly once). */
export async function settleCanceled(db: Runner, order: PublicOrder, opts: CancelOptions = {}): Promise<Settlement> {
  if (!canMove(order.status, 'canceled')) return notPending(order, 'canceled');
  if (await cancelOrder(db, order.id, { afterMove: opts.afterMove, facts: opts.facts }))
    return applied('canceled, stock returned', await getOrder(db, order.id));
  return notMoved(db, order.id, 'canceled');
}

/** Whatever the intent's current status says (reconcile and expire ask Stripe for it). */
export async function settleFromIntent(
  db: Runner,
  order: PublicOrder,
  intent: IntentFacts,
  /** For the cancel, when a canceled intent cancels the order. */
  opts: CancelOptions = {},
): Promise<Settlement> {
  if (intent.status === 'succeeded') return settleSucceeded(db, order, intent);
  if (intent.status === 'canceled') return settleCanceled(db, order, opts);
  return ignored('payment_incomplete', `payment ${intent.status ?? 'in an unknown state'}`, order);
}

/* ------------------------------------------------------------------------------------------ */
/* Checkout Sessions (hosted checkout)                                                        */

interface SessionShipping {
  name?: string | null;
  address?: {
    line1?: string | null;
    line2?: string | null;
    city?: string | null;
    postal_code?: string | null;
    state?: string | null;
    country?: string | null;
  } | null;
}

/** The fields of a Checkout Session (from the API or an event) that settling looks at. */
export interface SessionFacts {
  id: string;
  /** open | complete | expired */
  status?: string | null;
  /** paid | unpaid | no_payment_required */
  payment_status?: string | null;
  amount_total?: number | null;
  currency?: string | null;
  client_reference_id?: string | null;
  metadata?: Record<string, unknown> | null;
  payment_intent?: string | { id: string } | null;
  collected_information?: { shipping_details?: SessionShipping | null } | null;
  /** Where older API versions put it. */
  shipping_details?: SessionShipping | null;
  /** What the customer typed on the hosted page (or the prefilled address). */
  customer_details?: { email?: string | null } | null;
}

export function sessionIntentId(session: SessionFacts): string | null {
  const pi = session.payment_intent;
  if (!pi) return null;
  return typeof pi === 'string' ? pi : pi.id;
}

/**
 * The order a session belongs to: the one that stores the session's id, or else the one named
 * by its client_reference_id (or metadata), provided that order has no other session and the
 * metadata's user matches; then the session's id is stored on it.
 */
export async function findOrderForSession(db: Runner, session: SessionFacts): Promise<{ order?: PublicOrder; reason?: string }> {
  const bySession = await findOrderByCheckoutSession(db, session.id);
  if (bySession) return { order: bySession };

  const named = Number(session.client_reference_id ?? session.metadata?.order_id);
  if (!Number.isSafeInteger(named) || named <= 0) return { reason: 'unknown checkout session' };
  let order: PublicOrder;
  try {
    order = await getOrder(db, named);
  } catch (err) {
    if (isAppError(err) && err.code === 'NOT_FOUND') return { reason: `unknown checkout session (order ${named} it names does not exist)` };
    throw err;
  }
  if (order.checkout_session_id && order.checkout_session_id !== session.id) {
    return { reason: `order ${order.id} belongs to another checkout session (${order.checkout_session_id})` };
  }
  const metaUserId = session.metadata?.user_id;
  if (metaUserId !== undefined && Number(metaUserId) !== order.user_id) {
    return { reason: `metadata user ${String(metaUserId)} does not match order ${order.id}` };
  }
  if (!order.checkout_session_id) {
    try {
      await attachCheckoutSession(db, order.id, session.id);
    } catch (err) {
      if (isAppError(err)) return { reason: `checkout session could not be linked to order ${order.id}: ${err.message}` };
      throw err;
    }
    order = { ...order, checkout_session_id: session.id };
  }
  return { order };
}

/** Stores the shipping address the customer gave on Stripe's page, when valid and none is stored. */
async function keepShippingAddress(db: Runner, order: PublicOrder, session: SessionFacts): Promise<void> {
  if (order.shipping_address) return;
  const details = session.collected_information?.shipping_details ?? session.shipping_details;
  const a = details?.address;
  if (!details || !a) return;
  const parsed = shippingAddressSchema.safeParse({
    name: details.name,
    line1: a.line1,
    line2: a.line2 ?? null,
    city: a.city,
    postal_code: a.postal_code,
    region: a.state ?? null,
    country: a.country,
  });
  if (parsed.success) await setShippingAddress(db, order.id, parsed.data);
}

/**
 * A completed (or async-succeeded) session: `paid` when the order is pending, the session's
 * payment_status is `paid`, and its amount and currency match the order. The shipping address
 * it collected is stored either way.
 */
export async function settleSessionPaid(db: Runner, order: PublicOrder, session: SessionFacts, paidAt?: Date): Promise<Settlement> {
  await keepShippingAddress(db, order, session);
  if (!canMove(order.status, 'paid')) return notPending(order, 'paid');
  if (session.payment_status !== 'paid') {
    return ignored('payment_incomplete', `payment ${session.payment_status ?? 'in an unknown state'}, order stays ${order.status}`, order);
  }
  const amount = session.amount_total ?? undefined;
  if (amount !== order.total_cents) return ignored('mismatch', `amount mismatch ${amount ?? 'none'} != ${order.total_cents}`, order);
  const currency = (session.currency ?? '').toLowerCase();
  if (currency !== order.currency.toLowerCase()) return ignored('mismatch', `currency mismatch ${currency || 'none'} != ${order.currency}`, order);
  // The session's PaymentIntent holds the charge: a refund (docs/api.md, Refunds) is made on it.
  const intentId = sessionIntentId(session);
  if (intentId && !order.payment_intent_id) {
    try {
      await attachPaymentIntent(db, order.id, intentId);
    } catch (err) {
      if (!isAppError(err)) throw err; // linked to another order: paid all the same, refunded at Stripe by hand
    }
  }
  // The e-mail Stripe collected is stored in the move's transaction, before the move's
  // confirmation is queued: an account without an e-mail gets its confirmation there.
  const email = collectedEmail(session);
  const afterMove = email ? (trx: Knex.Transaction) => setCustomerEmail(trx, order.id, email) : undefined;
  if (await markPaid(db, order.id, paidAt, { afterMove })) return applied('paid', await getOrder(db, order.id));
  return notMoved(db, order.id, 'paid');
}

/** The customer's e-mail from a session, when it is a usable address (else none). */
function collectedEmail(session: SessionFacts): string | undefined {
  const parsed = emailSchema.safeParse(session.customer_details?.email);
  return parsed.success && parsed.data.length <= CUSTOMER_EMAIL_MAX ? parsed.data : undefined;
}

/** orders.customer_email's width (migrations/20261201000000_outbox_notifications.ts). */
const CUSTOMER_EMAIL_MAX = 254;

/** Whatever the session's current state says (reconcile and expire ask Stripe for it). */
export async function settleFromSession(
  db: Runner,
  order: PublicOrder,
  session: SessionFacts,
  /** For the cancel, when an expired session cancels the order. */
  opts: CancelOptions = {},
): Promise<Settlement> {
  if (session.status === 'complete') return settleSessionPaid(db, order, session);
  if (session.status === 'expired') return settleCanceled(db, order, opts);
  return ignored('payment_incomplete', `checkout session ${session.status ?? 'in an unknown state'}`, order);
}
