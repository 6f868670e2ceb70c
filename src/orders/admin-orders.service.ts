/**
 * Orders as the admin API and the CLI see and move them (docs/api.md, Admin API). Every move goes
 * through the state machine (order-states.ts, moveOrder), and its audit row is written in the
 * move's own transaction (moveOrder's afterMove): a refused move writes nothing.
 */
import type { Knex } from 'knex';
import type { Actor } from '../auth/permissions.js';
import { recordAudit } from '../audit/audit.service.js';
import type { Db } from '../db/connection.js';
import { fromDbTime, toDbTime } from '../db/values.js';
import { listRefunds } from '../payments/refunds.service.js';
import { cancelPendingOrder, type CustomerCancel } from '../payments/cancel.service.js';
import type { StripeConfig } from '../payments/stripe-client.js';
import type { AdminOrder, AdminOrderDetail, AdminOrderQuery, ShipInput } from './admin-orders.schemas.js';
import { invalidTransition } from './order-states.js';
import type { OrderRow } from './orders.repository.js';
import type { OrderStatus } from './orders.schemas.js';
import { getOrder, listOrders, moveOrder, type PublicOrder } from './orders.service.js';

interface Extra {
  tracking_number: string | null;
  carrier: string | null;
  intent_cancel_unconfirmed_at: string | null;
}

function paymentState(o: PublicOrder, extra: Extra): AdminOrder['payment']['state'] {
  if (o.status === 'canceled') return extra.intent_cancel_unconfirmed_at ? 'cancel_unconfirmed' : 'canceled';
  if (o.status === 'pending') return o.payment_intent_id ? 'awaiting_payment' : 'none';
  if (o.status === 'refunded') return 'refunded';
  return o.refunded_cents > 0 ? 'partially_refunded' : 'paid';
}

async function shape(db: Db, orders: PublicOrder[]): Promise<AdminOrder[]> {
  if (orders.length === 0) return [];
  const ids = orders.map((o) => o.id);
  const [extras, users] = await Promise.all([
    db<OrderRow & Extra>('orders').select('id', 'tracking_number', 'carrier', 'intent_cancel_unconfirmed_at').whereIn('id', ids),
    db('users')
      .select('id', 'username', 'email')
      .whereIn('id', [...new Set(orders.map((o) => o.user_id))]),
  ]);
  const extraOf = new Map(extras.map((e) => [Number(e.id), e as unknown as Extra]));
  const userOf = new Map(users.map((u: { id: number; username: string; email: string }) => [Number(u.id), u]));
  return orders.map((o) => {
    const extra = extraOf.get(o.id) ?? { tracking_number: null, carrier: null, intent_cancel_unconfirmed_at: null };
    const u = userOf.get(o.user_id);
    return {
      ...o,
      customer: u ? { id: Number(u.id), username: u.username, email: u.email } : null,
      tracking_number: extra.tracking_number ?? null,
      carrier: extra.carrier ?? null,
      payment: { state: paymentState(o, extra), payment_intent_id: o.payment_intent_id },
    };
  });
}

/** All orders, newest first; `customer` is a user id or a username (an unknown one matches nothing). */
export async function adminListOrders(db: Db, q: AdminOrderQuery): Promise<{ items: AdminOrder[]; total: number }> {
  let userId: number | undefined;
  if (q.customer !== undefined) {
    const byId = /^[1-9]\d{0,9}$/.test(q.customer) ? await db('users').where('id', Number(q.customer)).first('id') : undefined;
    const row = byId ?? (await db('users').where('username', q.customer).first('id'));
    if (!row) return { items: [], total: 0 };
    userId = Number(row.id);
  }
  const { items, total } = await listOrders(db, { userId, status: q.status, since: q.from, before: q.to, limit: q.limit, offset: q.offset });
  return { items: await shape(db, items), total };
}

export async function adminGetOrder(db: Db, id: number): Promise<AdminOrderDetail> {
  const [order] = await shape(db, [await getOrder(db, id)]);
  const events = await db('stripe_events').select('id', 'type', 'outcome', 'received_at').where('order_id', id).orderBy('received_at', 'asc');
  return {
    ...order,
    refunds: await listRefunds(db, id),
    stripe_events: events.map((e: { id: string; type: string; outcome: string; received_at: string }) => ({
      id: e.id,
      type: e.type,
      outcome: e.outcome,
      received_at: fromDbTime(e.received_at) ?? '',
    })),
  };
}

const audited = (actor: Actor, id: number, action: string, before: Record<string, unknown>, after: Record<string, unknown>) => (trx: Knex.Transaction) =>
  recordAudit(trx, actor, { action, targetType: 'order', targetId: id, before, after });

async function move(db: Db, actor: Actor, id: number, to: OrderStatus, fields: Record<string, unknown> = {}): Promise<AdminOrderDetail> {
  const order = await getOrder(db, id);
  const moved = await moveOrder(db, id, to, {
    afterMove: async (trx) => {
      if (Object.keys(fields).length)
        await trx('orders')
          .where('id', id)
          .update({ ...fields, updated_at: toDbTime(new Date()) });
      await audited(
        actor,
        id,
        `order.${to === 'shipped' ? 'ship' : to === 'delivered' ? 'deliver' : to}`,
        { status: order.status },
        { status: to, ...fields },
      )(trx);
    },
  });
  if (!moved) throw invalidTransition(await getOrder(db, id), to);
  return adminGetOrder(db, id);
}

/** paid → shipped, with an optional tracking number and carrier. */
export function adminShipOrder(db: Db, actor: Actor, id: number, input: ShipInput = {}): Promise<AdminOrderDetail> {
  const fields: Record<string, unknown> = {};
  if (input.tracking_number) fields.tracking_number = input.tracking_number;
  if (input.carrier) fields.carrier = input.carrier;
  return move(db, actor, id, 'shipped', fields);
}

/** shipped → delivered. */
export function adminDeliverOrder(db: Db, actor: Actor, id: number): Promise<AdminOrderDetail> {
  return move(db, actor, id, 'delivered');
}

/**
 * pending → canceled through the customer's cancel path (payments/cancel.service.ts): the
 * PaymentIntent, if any, is canceled at Stripe first; stock comes back once.
 */
export async function adminCancelOrder(db: Db, config: StripeConfig, actor: Actor, id: number): Promise<{ order: AdminOrderDetail; cancel: CustomerCancel }> {
  const change = audited(actor, id, 'order.cancel', { status: 'pending' }, { status: 'canceled' });
  const result = await cancelPendingOrder(db, config, { orderId: id, afterMove: change });
  // Canceled from Stripe's answer (settlement.ts) rather than by this call's own move: the
  // row is written just after, in its own statement.
  if (result.audited === false) await change(db as unknown as Knex.Transaction);
  return { order: await adminGetOrder(db, id), cancel: result };
}
