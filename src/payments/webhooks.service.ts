/**
 * Stripe webhooks: verify the signature on the raw bytes, then apply each event at most once.
 *
 * "At most once" is the `stripe_events` primary key: the event's row is inserted first, in the
 * same transaction as its effect on the order. A second delivery of the same event (also one that
 * arrives while the first is still running) fails on that key and changes nothing; if applying
 * the first fails, its row rolls back with it and Stripe's retry applies the event afresh.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { retryingTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { eventIntentSchema, eventSessionSchema, type OutcomeKind, stripeEventEnvelopeSchema } from './payments.schemas.js';
import {
  findOrderForIntent,
  findOrderForSession,
  ignored,
  sessionIntentId,
  settleCanceled,
  settleSessionPaid,
  settleSucceeded,
  type IntentFacts,
  type SessionFacts,
  type Settlement,
} from './settlement.js';
import { eventChargeSchema, eventRefundSchema, type EventCharge, type EventRefund } from './refunds.schemas.js';
import { settleChargeRefunded, settleRefundEvent } from './refunds.service.js';
import { claimEvent, recordOutcome } from './stripe-events.repository.js';
import { constructWebhookEvent, type StripeEvent } from './stripe-client.js';

export interface WebhookResult {
  /** False when this event id had been received before (nothing was done this time). */
  applied: boolean;
  outcome?: string;
  kind?: OutcomeKind;
  orderId?: number | null;
}

/**
 * The verified event, or VALIDATION_FAILED when the signature is missing, forged, for other
 * bytes, or too old, or when the signed JSON is not a Stripe event (stripeEventEnvelopeSchema).
 * PAYMENTS_UNAVAILABLE without a webhook secret.
 */
export async function verifyWebhook(rawBody: Buffer, signature: string | undefined, secret: string | undefined): Promise<StripeEvent> {
  if (!secret) throw new AppError('PAYMENTS_UNAVAILABLE', 'Stripe webhooks are not available: STRIPE_WEBHOOK_SECRET is not configured.');
  if (!signature) throw new AppError('VALIDATION_FAILED', 'The Stripe-Signature header is missing.');
  let event: unknown;
  try {
    event = await constructWebhookEvent(rawBody, signature, secret);
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', 'The Stripe-Signature header does not match the request body.', undefined, { cause: err });
  }
  const envelope = stripeEventEnvelopeSchema.safeParse(event);
  if (!envelope.success) {
    const details = envelope.error.issues.map((i) => ({ path: i.path.join('.') || 'body', message: i.message }));
    throw new AppError('VALIDATION_FAILED', 'The webhook body is not a Stripe event.', details);
  }
  return event as StripeEvent;
}

const HANDLED = new Set(['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.canceled']);
/** Refunds made here or in Stripe's dashboard (payments/refunds.service.ts, docs/api.md "Refunds"). */
const REFUND_EVENTS = new Set(['charge.refunded', 'refund.created', 'refund.updated']);

/** The charge or refund of a refund event, its fields checked (400 before anything is recorded). */
function refundObjectOf(event: StripeEvent): { charge?: EventCharge; refund?: EventRefund } | undefined {
  if (!REFUND_EVENTS.has(event.type)) return undefined;
  const object = (event.data as { object?: { object?: string } } | undefined)?.object;
  const schema = object?.object === 'charge' ? eventChargeSchema : object?.object === 'refund' ? eventRefundSchema : undefined;
  if (!schema) return undefined;
  const facts = schema.safeParse(object);
  if (!facts.success) {
    const details = facts.error.issues.map((i) => ({ path: ['data', 'object', ...i.path].join('.'), message: i.message }));
    throw new AppError('VALIDATION_FAILED', `The ${object?.object} in this event is malformed.`, details);
  }
  return object?.object === 'charge' ? { charge: facts.data as EventCharge } : { refund: facts.data as EventRefund };
}

const SESSION_HANDLED = new Set([
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
]);

function sessionOf(event: StripeEvent): SessionFacts | undefined {
  const object = (event.data as { object?: { object?: string } } | undefined)?.object;
  if (object?.object !== 'checkout.session') return undefined;
  const facts = eventSessionSchema.safeParse(object);
  if (!facts.success) {
    const details = facts.error.issues.map((i) => ({ path: ['data', 'object', ...i.path].join('.'), message: i.message }));
    throw new AppError('VALIDATION_FAILED', 'The checkout session in this event is malformed.', details);
  }
  return object as SessionFacts;
}

/**
 * A Checkout Session event (hosted checkout): completed → paid when Stripe says it is paid and
 * the amount and currency match (an async payment method completes unpaid, and the
 * async_payment_succeeded event pays it); async_payment_failed and expired → the order is
 * canceled and its stock comes back (the session can no longer be paid).
 */
async function settleSession(trx: Knex.Transaction, type: string, session: SessionFacts): Promise<Settlement> {
  const { order, reason } = await findOrderForSession(trx, session);
  if (!order) return ignored('unmatched', reason ?? 'unknown checkout session');
  // Stripe let the session lapse unpaid: the customer's e-mail says the order expired.
  if (type === 'checkout.session.expired') return settleCanceled(trx, order, { facts: { expired: true } });
  if (type === 'checkout.session.async_payment_failed') {
    const s = await settleCanceled(trx, order);
    return s.changed ? { ...s, outcome: 'applied: payment failed, canceled, stock returned' } : s;
  }
  return settleSessionPaid(trx, order, session);
}

function intentOf(event: StripeEvent): IntentFacts | undefined {
  const object = (event.data as { object?: { object?: string } } | undefined)?.object;
  if (object?.object !== 'payment_intent') return undefined;
  const facts = eventIntentSchema.safeParse(object);
  if (!facts.success) {
    const details = facts.error.issues.map((i) => ({ path: ['data', 'object', ...i.path].join('.'), message: i.message }));
    throw new AppError('VALIDATION_FAILED', 'The payment intent in this event is malformed.', details);
  }
  return object as IntentFacts;
}

async function settle(trx: Knex.Transaction, type: string, intent: IntentFacts): Promise<Settlement> {
  const { order, reason } = await findOrderForIntent(trx, intent);
  if (!order) return ignored('unmatched', reason ?? 'unknown payment intent');
  if (type === 'payment_intent.succeeded') return settleSucceeded(trx, order, intent);
  if (type === 'payment_intent.canceled') return settleCanceled(trx, order);
  const error = intent.last_payment_error;
  const why = [error?.code, error?.message].filter(Boolean).join(': ');
  return ignored('payment_failed', `payment failed${why ? ` (${why})` : ''}, order stays ${order.status}`, order);
}

/** Applies a verified event once; a repeat of an event id returns `{applied: false}`. */
export async function handleStripeEvent(db: Db, event: StripeEvent): Promise<WebhookResult> {
  const intent = intentOf(event);
  const session = intent ? undefined : sessionOf(event);
  const refundFacts = refundObjectOf(event);
  const refundIntent = refundFacts?.charge?.payment_intent ?? refundFacts?.refund?.payment_intent ?? null;
  const intentId = intent?.id ?? (session ? sessionIntentId(session) : null) ?? refundIntent;
  return retryingTransaction(db, async (trx) => {
    if (!(await claimEvent(trx, { id: event.id, type: event.type, payment_intent_id: intentId }))) return { applied: false };
    let outcome: Settlement;
    if (SESSION_HANDLED.has(event.type)) {
      outcome = session ? await settleSession(trx, event.type, session) : ignored('not_handled', 'the event carries no checkout session');
    } else if (refundFacts?.charge) outcome = await settleChargeRefunded(trx, refundFacts.charge);
    else if (refundFacts?.refund) outcome = await settleRefundEvent(trx, refundFacts.refund);
    else if (REFUND_EVENTS.has(event.type)) outcome = ignored('not_handled', `the ${event.type} event carries no charge or refund`);
    else if (!HANDLED.has(event.type)) outcome = ignored('not_handled', `event type ${event.type} is not handled`);
    else if (!intent) outcome = ignored('not_handled', 'the event carries no payment intent');
    else outcome = await settle(trx, event.type, intent);
    const orderId = outcome.order?.id ?? null;
    await recordOutcome(trx, event.id, { order_id: orderId, outcome: outcome.outcome, kind: outcome.kind });
    return { applied: true, outcome: outcome.outcome, kind: outcome.kind, orderId };
  });
}
