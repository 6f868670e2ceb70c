/**
 * What an order's moves tell the outside world (docs/data.md, "outbox"): every state move
 * (`moveOrder` in orders/orders.service.ts) calls `notifyOrderEvent`, and every new order
 * `notifyWithSnapshot`, in the same transaction, which queues the customer's e-mail and the shop's outgoing webhooks there.
 * The change and its messages commit together or not at all; a move that did not happen (a
 * second webhook for a paid order) queues nothing.
 */
import type { Knex } from 'knex';
import { fromDbTime } from '../db/values.js';
import type { OrderStatus } from '../orders/orders.schemas.js';
import { type PublicOrder, shippingAddressOf } from '../orders/orders.service.js';
import { enqueueOrderEmail } from './order-email.js';
import { enqueueOrderWebhooks } from './order-webhooks.js';

export type OrderEvent = 'order.placed' | `order.${Exclude<OrderStatus, 'pending'>}`;

/** The order as the messages show it, read in the transaction that moved it. */
export interface OrderSnapshot {
  id: number;
  status: OrderStatus;
  user_id: number;
  username: string | null;
  /** The account's e-mail, else the one Stripe's hosted page collected, else null. */
  email: string | null;
  currency: string;
  total_cents: number;
  shipping_cents: number;
  refunded_cents: number;
  created_at: string | null;
  paid_at: string | null;
  items: { product_id: number | null; name: string; unit_price_cents: number; quantity: number }[];
  shipping_address: PublicOrder['shipping_address'];
  tracking_number: string | null;
  carrier: string | null;
}

export interface OrderEventFacts {
  /** A cancel because the order's hold ran out (`orders expire`), not the customer's. */
  expired?: boolean;
}

/** Reads what the messages about order `orderId` show, in `trx`. */
export async function orderSnapshot(trx: Knex.Transaction, orderId: number): Promise<OrderSnapshot | undefined> {
  const o = await trx('orders as o')
    .leftJoin('users as u', 'u.id', 'o.user_id')
    .where('o.id', orderId)
    .first('o.*', 'u.username as username', 'u.email as account_email');
  if (!o) return undefined;
  const items = await trx('order_items').where('order_id', orderId).orderBy('id').select('product_id', 'name', 'unit_price_cents', 'quantity');
  return {
    id: Number(o.id),
    status: o.status,
    user_id: Number(o.user_id),
    username: o.username ?? null,
    email: o.account_email ?? o.customer_email ?? null,
    currency: o.currency,
    total_cents: Number(o.total_cents),
    shipping_cents: Number(o.shipping_cents ?? 0),
    refunded_cents: Number(o.refunded_cents ?? 0),
    created_at: fromDbTime(o.created_at),
    paid_at: fromDbTime(o.paid_at),
    items: items.map((i: { product_id: number | null; name: string; unit_price_cents: number | string; quantity: number | string }) => ({
      product_id: i.product_id === null ? null : Number(i.product_id),
      name: i.name,
      unit_price_cents: Number(i.unit_price_cents),
      quantity: Number(i.quantity),
    })),
    shipping_address: shippingAddressOf(o),
    tracking_number: o.tracking_number ?? null,
    carrier: o.carrier ?? null,
  };
}

/** Queues what `event` on order `orderId` sends (its e-mail, its webhooks), in `trx`. */
export async function notifyOrderEvent(trx: Knex.Transaction, event: OrderEvent, orderId: number, facts: OrderEventFacts = {}): Promise<void> {
  const order = await orderSnapshot(trx, orderId);
  if (!order) return;
  await notifyWithSnapshot(trx, event, order, facts);
}

/**
 * The same, for a caller that wrote the whole order in `trx` itself and so holds exactly what
 * `orderSnapshot` would read back (order creation): no second read of what it just wrote.
 */
export async function notifyWithSnapshot(trx: Knex.Transaction, event: OrderEvent, order: OrderSnapshot, facts: OrderEventFacts = {}): Promise<void> {
  await enqueueOrderEmail(trx, event, order, facts);
  await enqueueOrderWebhooks(trx, event, order);
}
