/** `watchstore orders expire [--older-than 30m]`: cancel unpaid orders past the hold time, stock back. */
import { cliConfig } from '../context.js';
import { formatMoney } from '../../money.js';
import { usernamesOf } from '../../orders/orders.service.js';
import { durationSchema } from '../../payments/payments.schemas.js';
import { expirePendingOrders, type OrderAction } from '../../payments/reconcile.service.js';
import { paymentsConfigured } from '../../payments/stripe-client.js';
import { parseInput } from '../../validation.js';
import { openDb } from '../db.js';
import { shortTime, ui } from '../ui.js';

export interface ExpireOptions {
  olderThan?: string;
}

const ACTION_STYLE: Record<OrderAction['action'], (s: string) => string> = {
  paid: (s) => ui.style.green(s),
  canceled: (s) => ui.style.yellow(s),
  left: (s) => s,
  skipped: (s) => ui.style.red(s),
  error: (s) => ui.style.red(s),
  refund: (s) => ui.style.red(s),
};

/** The table of what was done to each order (shared with `orders reconcile`). */
export async function actionsTable(db: Awaited<ReturnType<typeof openDb>>, actions: OrderAction[]): Promise<void> {
  const names = await usernamesOf(
    db,
    actions.map((a) => a.user_id),
  );
  await ui.table(
    ['Order', 'Customer', 'Created', 'Total', 'PaymentIntent', 'Action', 'Outcome'],
    actions.map((a) => [
      a.order_id,
      names.get(a.user_id) ?? `#${a.user_id}`,
      shortTime(a.created_at),
      formatMoney(a.total_cents, a.currency),
      a.payment_intent_id ? `${a.payment_intent_id}${a.intent_status ? ` (${a.intent_status})` : ''}` : '-',
      ACTION_STYLE[a.action](a.action),
      a.outcome,
    ]),
    ['right', 'left', 'left', 'right', 'left', 'left', 'left'],
  );
}

export async function expire(_args: string[], opts: ExpireOptions): Promise<number> {
  const config = await cliConfig();
  const olderThanMs = opts.olderThan === undefined ? config.orderHoldMinutes * 60_000 : parseInput(durationSchema, opts.olderThan, '--older-than');
  const db = await openDb();
  const report = await expirePendingOrders(db, config, { olderThanMs });

  await ui.result(report.orders, async () => {
    if (report.orders.length === 0) return ui.print(`No pending orders created before ${report.cutoff}.`);
    await actionsTable(db, report.orders);
    const count = (k: OrderAction['action']) => report.orders.filter((a) => a.action === k).length;
    ui.print(
      `Pending orders created before ${report.cutoff}: ${count('canceled')} canceled, ${count('paid')} paid (Stripe had the payment), ${count('left')} left, ${report.failed} not settled.`,
    );
  });
  if (report.failed > 0) {
    ui.message(
      paymentsConfigured(config)
        ? `watchstore: ${report.failed} order${report.failed === 1 ? '' : 's'} could not be settled with Stripe; they stay pending. Run it again later.`
        : `watchstore: ${report.failed} order${report.failed === 1 ? ' has' : 's have'} a PaymentIntent and STRIPE_SECRET_KEY is not set; they stay pending so no one is charged for a canceled order.`,
    );
    return 1;
  }
  return 0;
}
