/**
 * `watchstore orders reconcile`: ask Stripe about every pending order that has a PaymentIntent,
 * apply what Stripe says, follow up orders canceled while Stripe could not cancel their intent,
 * and list the recorded Stripe events that changed nothing.
 */
import { cliConfig } from '../context.js';
import { reconcilePayments } from '../../payments/reconcile.service.js';
import { openDb } from '../db.js';
import { shortTime, ui } from '../ui.js';
import { actionsTable } from './orders-expire.js';

export async function reconcile(): Promise<number> {
  const db = await openDb();
  const report = await reconcilePayments(db, await cliConfig());

  await ui.result(report, async () => {
    if (report.orders.length === 0) ui.print('No pending orders with a PaymentIntent.');
    else {
      await actionsTable(db, report.orders);
      const changed = report.orders.filter((a) => a.action === 'paid' || a.action === 'canceled').length;
      ui.print(`${report.orders.length} order${report.orders.length === 1 ? '' : 's'} checked with Stripe, ${changed} updated.`);
    }
    ui.print();
    if (report.ignored_events.length === 0) return ui.print('No Stripe events were ignored.');
    ui.print(ui.style.bold('Stripe events that changed nothing (newest first):'));
    await ui.table(
      ['Received', 'Event', 'Type', 'PaymentIntent', 'Order', 'Outcome'],
      report.ignored_events.map((e) => [shortTime(e.received_at), e.id, e.type, e.payment_intent_id ?? '-', e.order_id ?? '-', ui.style.yellow(e.outcome)]),
    );
    if (report.ignored_events_total > report.ignored_events.length) {
      ui.print(`${report.ignored_events.length} of ${report.ignored_events_total} shown.`);
    }
  });
  if (report.refunds_needed > 0) {
    const n = report.refunds_needed;
    ui.message(`watchstore: ${n} canceled order${n === 1 ? ' was' : 's were'} paid at Stripe after all; refund ${n === 1 ? 'it' : 'them'} in Stripe.`);
  }
  if (report.failed > 0) {
    ui.message(`watchstore: ${report.failed} order${report.failed === 1 ? '' : 's'} could not be checked with Stripe.`);
  }
  return report.failed > 0 || report.refunds_needed > 0 ? 1 : 0;
}
