/**
 * Refunds (docs/api.md, "Refunds"; docs/data.md, `refunds`): a paid, shipped or delivered order
 * refunded in full or in part through Stripe, by the admin API and the CLI alike, and refunds
 * made in Stripe's dashboard reconciled from the `charge.refunded` and `refund.*` webhooks.
 *
 * Never more than was paid: the amount is first reserved on the order by one guarded update
 * (`refunded_cents + amount <= total_cents`), so two refunds racing cannot both pass; then Stripe
 * is asked, with an idempotency key derived from the order, the refund's row (or the client's
 * Idempotency-Key) and the amount, so a retry never refunds twice; then the refund is recorded,
 * the stock given back when asked (once per order), the order moved to `refunded` when nothing is
 * left, and the audit row written, in one transaction. A refund Stripe refuses releases its
 * reservation and writes no audit row.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Actor } from '../auth/permissions.js';
import { recordAudit } from '../audit/audit.service.js';
import type { Db } from '../db/connection.js';
import { isUniqueViolation } from '../db/errors.js';
import { retryingTransaction } from '../db/transaction.js';
import { fromDbTime, insertedId, toDbTime } from '../db/values.js';
import { AppError, isAppError } from '../errors.js';
import { centsToNumber } from '../money.js';
import { canMove, movesInto } from '../orders/order-states.js';
import { ordersRepository } from '../orders/orders.repository.js';
import { idempotencyKeySchema } from '../orders/orders.schemas.js';
import { findOrderByPaymentIntent, getOrder, moveOrder, type PublicOrder } from '../orders/orders.service.js';
import { parseInput } from '../validation.js';
import type { EventCharge, EventRefund, RefundRecord } from './refunds.schemas.js';
import { ignored, type Settlement } from './settlement.js';
import { createRefund, paymentsConfigured, stripeCause, type StripeConfig } from './stripe-client.js';

type Runner = Db | Knex.Transaction;

interface RefundRow {
  id: number;
  order_id: number;
  stripe_refund_id: string | null;
  amount_cents: number | string;
  status: string;
  restocked: number | boolean;
  idempotency_key: string | null;
  reason: string | null;
  created_at: string | Date;
}

/** Refund statuses that do not count towards what was refunded. */
const NOT_COUNTED = ['failed', 'canceled'];

function toRecord(r: RefundRow): RefundRecord {
  const cents = Number(r.amount_cents);
  return {
    id: Number(r.id),
    order_id: Number(r.order_id),
    stripe_refund_id: r.stripe_refund_id ?? null,
    amount: centsToNumber(cents),
    amount_cents: cents,
    status: r.status,
    restocked: Boolean(Number(r.restocked)),
    reason: r.reason ?? null,
    created_at: fromDbTime(r.created_at) ?? '',
  };
}

/** An order's refunds, oldest first. */
export async function listRefunds(db: Runner, orderId: number): Promise<RefundRecord[]> {
  const rows = (await db('refunds').where('order_id', orderId).orderBy('id', 'asc')) as RefundRow[];
  return rows.map(toRecord);
}

async function refundRow(db: Runner, id: number): Promise<RefundRecord> {
  return toRecord((await db('refunds').where('id', id).first()) as RefundRow);
}

/** Why an order cannot be refunded now, or undefined when it can. */
function notRefundable(order: { id: number; status: PublicOrder['status']; payment_intent_id: string | null }): AppError | undefined {
  if (!canMove(order.status, 'refunded')) {
    const why = order.status === 'refunded' ? 'is already refunded in full' : `is ${order.status}; only paid, shipped or delivered orders can be refunded`;
    return new AppError('INVALID_TRANSITION', `Order ${order.id} ${why}.`);
  }
  if (!order.payment_intent_id) return new AppError('INVALID_TRANSITION', `Order ${order.id} has no PaymentIntent to refund.`);
  return undefined;
}

function exceeds(orderId: number, requested: number, refundable: number): AppError {
  return new AppError('CONFLICT', `Order ${orderId}: a refund of ${centsToNumber(requested)} is more than the ${centsToNumber(refundable)} left to refund.`, [
    { path: 'amount', message: 'more than the rest of what was paid', requested_cents: requested, refundable_cents: refundable },
  ]);
}

class KeyTaken extends Error {}

/** The refund first made with this Idempotency-Key, waiting briefly for its transaction to commit. */
async function refundWithKey(db: Db, orderId: number, key: string): Promise<RefundRecord | undefined> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const row = (await db('refunds').where({ order_id: orderId, idempotency_key: key }).first()) as RefundRow | undefined;
    if (row) return toRecord(row);
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Gives back a reservation Stripe did not turn into a refund (the row is removed, once). */
async function release(db: Db, refundId: number, orderId: number, amount: number): Promise<void> {
  await retryingTransaction(db, async (trx) => {
    const gone = await trx('refunds').where({ id: refundId }).whereNull('stripe_refund_id').del();
    if (gone === 1)
      await trx('orders')
        .where('id', orderId)
        .update({
          refunded_cents: trx.raw('CASE WHEN refunded_cents >= ? THEN refunded_cents - ? ELSE 0 END', [amount, amount]),
          updated_at: toDbTime(new Date()),
        });
  });
}

/** Gives the order's stock back, once per order (orders.restocked_at guards it). True when this call did. */
async function restockOnce(trx: Knex.Transaction, orderId: number): Promise<boolean> {
  const n = await trx('orders')
    .where('id', orderId)
    .whereNull('restocked_at')
    .update({ restocked_at: toDbTime(new Date()) });
  if (n !== 1) return false;
  const items = (await ordersRepository.itemsOf(trx, [orderId])).filter((i) => i.product_id !== null);
  // Product id order, the lock order of every stock writer.
  items.sort((a, b) => Number(a.product_id) - Number(b.product_id));
  for (const i of items) await ordersRepository.returnStock(trx, Number(i.product_id), Number(i.quantity));
  return true;
}

/** Moves the order to `refunded` when all that was paid is refunded; true when this call moved it. */
async function refundedInFull(trx: Knex.Transaction, orderId: number): Promise<boolean> {
  const row = await trx('orders').where('id', orderId).first('status', 'total_cents', 'refunded_cents');
  if (!row || Number(row.refunded_cents) < Number(row.total_cents) || !canMove(row.status, 'refunded')) return false;
  return moveOrder(trx, orderId, 'refunded');
}

export interface RefundInput {
  /** Cents; default the rest of what was paid. */
  amountCents?: number;
  restock?: boolean;
  reason?: string | null;
  /** The client's Idempotency-Key: the same key on the same order returns the first refund. */
  idempotencyKey?: string;
}

/**
 * Refunds an order (see the module comment). `created` is false when the Idempotency-Key had
 * already made a refund on this order: that refund is returned and nothing else happens.
 */
export async function refundOrder(
  db: Db,
  config: StripeConfig,
  actor: Actor,
  orderId: number,
  input: RefundInput,
): Promise<{ refund: RefundRecord; created: boolean }> {
  const key = input.idempotencyKey === undefined ? null : parseInput(idempotencyKeySchema, input.idempotencyKey, 'Idempotency-Key');
  const order = await getOrder(db, orderId);
  if (key !== null) {
    const prior = (await db('refunds').where({ order_id: orderId, idempotency_key: key }).first()) as RefundRow | undefined;
    if (prior) return { refund: toRecord(prior), created: false };
  }
  const refused = notRefundable(order);
  if (refused) throw refused;
  if (!paymentsConfigured(config)) throw new AppError('PAYMENTS_UNAVAILABLE', 'Refunds are not available: STRIPE_SECRET_KEY is not configured.');
  const intentId = order.payment_intent_id!;

  // 1. Reserve the amount on the order (one guarded update) and the refund's row.
  let reserved: { id: number; amount: number; before: number };
  try {
    reserved = await retryingTransaction(db, async (trx) => {
      const row = await trx('orders').where('id', orderId).first('id', 'status', 'total_cents', 'refunded_cents', 'payment_intent_id');
      const now = { id: orderId, status: row.status, payment_intent_id: row.payment_intent_id ?? null };
      const again = notRefundable(now);
      if (again) throw again;
      const total = Number(row.total_cents);
      const rest = total - Number(row.refunded_cents);
      const amount = input.amountCents ?? rest;
      if (amount <= 0 || amount > rest) throw exceeds(orderId, amount, Math.max(rest, 0));
      const n = await trx('orders')
        .where('id', orderId)
        .whereIn('status', movesInto('refunded'))
        .whereRaw('refunded_cents + ? <= total_cents', [amount])
        .update({ refunded_cents: trx.raw('refunded_cents + ?', [amount]), updated_at: toDbTime(new Date()) });
      if (n !== 1) throw exceeds(orderId, amount, Math.max(rest, 0));
      let id: number;
      try {
        id = insertedId(
          await trx('refunds').insert({
            order_id: orderId,
            amount_cents: amount,
            status: 'pending',
            restocked: false,
            idempotency_key: key,
            reason: input.reason ?? null,
            actor: actor.id,
            created_at: toDbTime(new Date()),
          }),
        );
      } catch (err) {
        if (key !== null && isUniqueViolation(err)) throw new KeyTaken();
        throw err;
      }
      return { id, amount, before: Number(row.refunded_cents) };
    });
  } catch (err) {
    if (!(err instanceof KeyTaken)) throw err;
    const prior = await refundWithKey(db, orderId, key!);
    if (!prior) throw new AppError('CONFLICT', 'A refund with this Idempotency-Key is still being processed. Retry shortly.');
    return { refund: prior, created: false };
  }

  // 2. Stripe. The key is the same for a retry of this request, never for another refund.
  const which = key === null ? `r${reserved.id}` : `k${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
  const stripeKey = `watchstore-refund-${orderId}-${which}-${reserved.amount}`;
  let refund: Awaited<ReturnType<typeof createRefund>>;
  try {
    refund = await createRefund(
      config,
      { paymentIntentId: intentId, amountCents: reserved.amount, metadata: { order_id: String(orderId), refund_id: String(reserved.id) } },
      stripeKey,
    );
  } catch (err) {
    await release(db, reserved.id, orderId, reserved.amount);
    const code = stripeCause(err)?.code;
    if (isAppError(err) && (code === 'charge_already_refunded' || code === 'amount_too_large')) {
      throw new AppError('CONFLICT', `Order ${orderId}: Stripe refuses the refund: ${err.message}`, undefined, { cause: err });
    }
    throw err;
  }
  if (refund.status && NOT_COUNTED.includes(refund.status)) {
    await release(db, reserved.id, orderId, reserved.amount);
    throw new AppError('PAYMENT_PROVIDER_ERROR', `The payment provider could not refund the payment: the refund is ${refund.status}.`);
  }

  // 3. Record it, restock when asked, move to refunded when nothing is left, audit: one transaction.
  await retryingTransaction(db, async (trx) => {
    await trx('refunds')
      .where('id', reserved.id)
      .update({ stripe_refund_id: refund.id, status: refund.status ?? 'pending' });
    const restocked = input.restock ? await restockOnce(trx, orderId) : false;
    if (restocked) await trx('refunds').where('id', reserved.id).update({ restocked: true });
    await refundedInFull(trx, orderId);
    const after = await trx('orders').where('id', orderId).first('status', 'refunded_cents');
    await recordAudit(trx, actor, {
      action: 'order.refund',
      targetType: 'order',
      targetId: orderId,
      before: { status: order.status, refunded_cents: reserved.before },
      after: {
        status: after.status,
        refunded_cents: Number(after.refunded_cents),
        refund_id: reserved.id,
        stripe_refund_id: refund.id,
        amount_cents: reserved.amount,
        restocked,
        ...(input.reason ? { reason: input.reason } : {}),
      },
    });
  });
  return { refund: await refundRow(db, reserved.id), created: true };
}

/* ------------------------------------------------------------------------------------------ */
/* Webhooks: refunds made here or in Stripe's dashboard                                       */

const appliedRefund = (what: string, order: PublicOrder): Settlement => ({ changed: true, kind: 'applied', outcome: `applied: ${what}`, order });

/** Raises refunded_cents to `atLeast` (never above the total, never down); true when it changed. */
async function raiseRefunded(trx: Knex.Transaction, orderId: number, atLeast: number): Promise<boolean> {
  const row = await trx('orders').where('id', orderId).first('total_cents');
  const target = Math.min(atLeast, Number(row?.total_cents ?? 0));
  const n = await trx('orders')
    .where('id', orderId)
    .where('refunded_cents', '<', target)
    .update({ refunded_cents: target, updated_at: toDbTime(new Date()) });
  return n === 1;
}

async function orderOf(trx: Knex.Transaction, intentId: string | null | undefined): Promise<PublicOrder | undefined> {
  return intentId ? findOrderByPaymentIntent(trx, intentId) : undefined;
}

/** `charge.refunded`: the charge's amount_refunded (Stripe's running total) is what was refunded. */
export async function settleChargeRefunded(trx: Knex.Transaction, charge: EventCharge): Promise<Settlement> {
  const order = await orderOf(trx, charge.payment_intent);
  if (!order) return ignored('unmatched', 'unknown payment intent');
  if (order.status === 'pending' || order.status === 'canceled') return ignored('wrong_state', `order ${order.status}`, order);
  const raised = await raiseRefunded(trx, order.id, charge.amount_refunded);
  const moved = await refundedInFull(trx, order.id);
  const after = await getOrder(trx, order.id);
  if (!raised && !moved) return ignored('already_applied', `order already has ${after.refunded_cents} refunded`, after);
  return appliedRefund(moved ? 'refunded in full' : `${after.refunded_cents} refunded`, after);
}

/**
 * `refund.created` / `refund.updated`: the refund's row is found by its Stripe id, or by the
 * refund_id this store put in its metadata, or made (a refund from Stripe's dashboard); a refund
 * that failed or was canceled stops counting (once); refunded_cents is raised to the sum of the
 * order's refunds that count.
 */
export async function settleRefundEvent(trx: Knex.Transaction, refund: EventRefund): Promise<Settlement> {
  const order = await orderOf(trx, refund.payment_intent);
  if (!order) return ignored('unmatched', 'unknown payment intent');
  if (order.status === 'pending' || order.status === 'canceled') return ignored('wrong_state', `order ${order.status}`, order);
  const status = (refund.status ?? 'pending').slice(0, 20);
  let changed = false;

  let row = (await trx('refunds').where('stripe_refund_id', refund.id).first()) as RefundRow | undefined;
  const ours = Number(refund.metadata?.refund_id);
  if (!row && Number.isSafeInteger(ours) && ours > 0) {
    const n = await trx('refunds').where({ id: ours, order_id: order.id }).whereNull('stripe_refund_id').update({ stripe_refund_id: refund.id });
    if (n === 1) row = (await trx('refunds').where('id', ours).first()) as RefundRow;
  }
  if (!row) {
    if (refund.amount <= 0) return ignored('mismatch', 'refund of no amount', order);
    await trx('refunds').insert({
      order_id: order.id,
      stripe_refund_id: refund.id,
      amount_cents: refund.amount,
      status,
      restocked: false,
      actor: 'stripe',
      created_at: toDbTime(new Date()),
    });
    changed = true;
  } else if (row.status !== status) {
    const nowNotCounted = NOT_COUNTED.includes(status);
    const n = await trx('refunds').where('id', row.id).where('status', row.status).update({ status });
    if (n === 1) {
      changed = true;
      if (nowNotCounted && !NOT_COUNTED.includes(row.status)) {
        const amount = Number(row.amount_cents);
        await trx('orders')
          .where('id', order.id)
          .update({
            refunded_cents: trx.raw('CASE WHEN refunded_cents >= ? THEN refunded_cents - ? ELSE 0 END', [amount, amount]),
            updated_at: toDbTime(new Date()),
          });
      }
    }
  }
  const sum = await trx('refunds').where('order_id', order.id).whereNotIn('status', NOT_COUNTED).sum({ s: 'amount_cents' }).first();
  if (await raiseRefunded(trx, order.id, Number(sum?.s ?? 0))) changed = true;
  if (await refundedInFull(trx, order.id)) changed = true;
  const after = await getOrder(trx, order.id);
  if (!changed) return ignored('already_applied', `refund ${refund.id} already ${status}`, after);
  return appliedRefund(`refund ${refund.id} ${status}, ${after.refunded_cents} refunded`, after);
}
