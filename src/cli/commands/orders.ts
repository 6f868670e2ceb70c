/** `watchstore orders list|show|mark`: the shop owner's view of orders, through the orders service. */
import { cliConfig } from '../context.js';
import { formatMoney } from '../../money.js';
import { shipSchema } from '../../orders/admin-orders.schemas.js';
import { markableStatusSchema, type OrderStatus } from '../../orders/orders.schemas.js';
import { getOrder, listOrders, parseOrderFilter, parseOrderId, usernamesOf, type PublicOrder } from '../../orders/orders.service.js';
import { getUserByUsername } from '../../users/users.service.js';
import { parseInput } from '../../validation.js';
import { openDb } from '../db.js';
import { shortTime, ui, usageError } from '../ui.js';

const total = (o: PublicOrder) => formatMoney(o.total_cents, o.currency);

function statusText(s: OrderStatus): string {
  switch (s) {
    case 'pending':
      return ui.style.yellow(s);
    case 'paid':
      return ui.style.green(s);
    case 'canceled':
    case 'refunded':
      return ui.style.red(s);
    default:
      return s;
  }
}

/** Where an order goes, on one line (`-` while unknown). */
function shipTo(o: PublicOrder): string {
  const a = o.shipping_address;
  if (!a) return '-';
  return [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.region, a.country].filter(Boolean).join(', ');
}

/** Where an order goes, short enough for a table column: city and country. */
const shipToShort = (o: PublicOrder) => (o.shipping_address ? `${o.shipping_address.city}, ${o.shipping_address.country}` : '-');

const who = (names: Map<number, string>, userId: number) => names.get(userId) ?? `#${userId}`;

export interface ListOptions {
  status?: string;
  user?: string;
  since?: string;
  limit?: string;
}

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const f = parseOrderFilter({ status: opts.status, since: opts.since, limit: opts.limit });
  const db = await openDb();
  const userId = opts.user === undefined ? undefined : (await getUserByUsername(db, opts.user)).id;
  const page = await listOrders(db, { userId, status: f.status, since: f.since, limit: f.limit });
  await ui.result(page.items, async () => {
    if (page.items.length === 0) return ui.print('No orders match.');
    const names = await usernamesOf(
      db,
      page.items.map((o) => o.user_id),
    );
    await ui.table(
      ['ID', 'User', 'Status', 'Total', 'Items', 'Ships to', 'Created'],
      page.items.map((o) => [
        o.id,
        who(names, o.user_id),
        statusText(o.status),
        total(o),
        o.items.reduce((n, i) => n + i.quantity, 0),
        shipToShort(o),
        shortTime(o.created_at),
      ]),
      ['right', 'left', 'left', 'right', 'right', 'left', 'left'],
    );
    ui.print(`${page.items.length} of ${page.total} order${page.total === 1 ? '' : 's'}.`);
  });
}

async function printOrder(o: PublicOrder, names: Map<number, string>): Promise<void> {
  ui.print(`Order #${o.id}  ${statusText(o.status)}  ${ui.style.bold(total(o))}`);
  ui.print(`Customer:        ${who(names, o.user_id)} (id ${o.user_id})`);
  ui.print(`Created:         ${o.created_at}`);
  ui.print(`Paid:            ${o.paid_at ?? '-'}`);
  ui.print(`PaymentIntent:   ${o.payment_intent_id ?? '-'}`);
  if (o.refunded_cents > 0) ui.print(`Refunded:        ${formatMoney(o.refunded_cents, o.currency)}`);
  ui.print(`Checkout:        ${o.checkout_session_id ?? '-'}`);
  ui.print(`Shipping:        ${formatMoney(o.shipping_cents, o.currency)}`);
  ui.print(`Ships to:        ${shipTo(o)}`);
  await ui.table(
    ['Product', 'Name', 'Unit price', 'Qty', 'Line total'],
    o.items.map((i) => [
      i.product_id ?? '(removed)',
      i.name,
      formatMoney(i.unit_price_cents, o.currency),
      i.quantity,
      formatMoney(i.line_total_cents, o.currency),
    ]),
    ['right', 'left', 'right', 'right', 'right'],
  );
}

export async function show([id]: string[]): Promise<void> {
  const db = await openDb();
  const order = await getOrder(db, parseOrderId(id));
  await ui.result(order, async () => printOrder(order, await usernamesOf(db, [order.user_id])));
}

export interface MarkOptions {
  tracking?: string;
  carrier?: string;
}

/**
 * Through the admin orders service, as the admin API does it, audited as `cli:<os user>`:
 * shipped (with --tracking/--carrier), delivered, or canceled through the payments side (an
 * order with a PaymentIntent is canceled at Stripe too, so nobody can pay for it afterwards).
 */
export async function mark([id, status]: string[], opts: MarkOptions = {}): Promise<void> {
  const orderId = parseOrderId(id);
  const to = parseInput(markableStatusSchema, status, 'status');
  if ((opts.tracking || opts.carrier) && to !== 'shipped') throw usageError('--tracking and --carrier go with shipped only.');
  const db = await openDb();
  const admin = await import('../../orders/admin-orders.service.js');
  const actor = (await import('../actor.js')).currentCliActor();
  if (to === 'canceled') {
    const { order, cancel } = await admin.adminCancelOrder(db, await cliConfig(), actor, orderId);
    if (cancel.stripe === 'unconfirmed') ui.warn(`Stripe could not cancel the payment (${cancel.reason}); \`watchstore orders reconcile\` will follow up.`);
    await ui.result(order, () => ui.print(`Order #${order.id} is now ${statusText(order.status)}; its stock is back on the shelf.`));
    return;
  }
  const input = parseInput(shipSchema, { tracking_number: opts.tracking, carrier: opts.carrier }, 'options');
  const order = to === 'shipped' ? await admin.adminShipOrder(db, actor, orderId, input) : await admin.adminDeliverOrder(db, actor, orderId);
  const tracking = order.tracking_number ? ` (tracking ${order.tracking_number}${order.carrier ? `, ${order.carrier}` : ''})` : '';
  await ui.result(order, () => ui.print(`Order #${order.id} is now ${statusText(order.status)}${to === 'shipped' ? tracking : ''}.`));
}

export interface RefundOptions {
  amount?: string;
  restock?: boolean;
  reason?: string;
  yes?: boolean;
}

/**
 * `orders refund <id> [--amount 12.34] [--restock] [--yes]`: the admin API's refund
 * (payments/refunds.service.ts), audited as `cli:<os user>`; asks first on a terminal.
 */
export async function refund([id]: string[], opts: RefundOptions = {}): Promise<number | undefined> {
  const orderId = parseOrderId(id);
  const { refundAmountSchema } = await import('../../payments/refunds.schemas.js');
  const amountCents = opts.amount === undefined ? undefined : parseInput(refundAmountSchema, opts.amount, 'amount');
  const db = await openDb();
  const order = await getOrder(db, orderId);
  const rest = order.total_cents - order.refunded_cents;
  const question = async () =>
    `Refund ${formatMoney(amountCents ?? rest, order.currency)} of order #${order.id} (${total(order)}, ${formatMoney(order.refunded_cents, order.currency)} refunded so far)${opts.restock ? ', stock back on the shelf' : ''}?`;
  if (!(await ui.confirmOrYes('orders refund', opts.yes, question, 'Nothing refunded.'))) return 1;
  const { refundOrder } = await import('../../payments/refunds.service.js');
  const actor = (await import('../actor.js')).currentCliActor();
  const { refund: made } = await refundOrder(db, await cliConfig(), actor, orderId, {
    amountCents,
    restock: Boolean(opts.restock),
    reason: opts.reason ?? null,
  });
  const after = await getOrder(db, orderId);
  await ui.result({ refund: made, order: after }, () =>
    ui.print(
      `Refunded ${formatMoney(made.amount_cents, after.currency)} of order #${after.id} (Stripe ${made.stripe_refund_id ?? '-'}); ` +
        `${formatMoney(after.refunded_cents, after.currency)} refunded in all, order ${statusText(after.status)}${made.restocked ? '; its stock is back on the shelf' : ''}.`,
    ),
  );
  return undefined;
}
