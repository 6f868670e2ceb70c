import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * orders.intent_cancel_unconfirmed_at: set when a customer canceled a pending order that has a
 * PaymentIntent and Stripe could not confirm the intent was canceled (unreachable, or no key
 * configured). The intent may still be paid; `watchstore orders reconcile` asks Stripe about
 * these orders, cancels the intent or reports a payment that needs a refund, and clears it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.datetime('intent_cancel_unconfirmed_at', { precision: 3 }).nullable();
    t.index(['intent_cancel_unconfirmed_at'], 'orders_intent_cancel_unconfirmed_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['intent_cancel_unconfirmed_at'], 'orders_intent_cancel_unconfirmed_index');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('intent_cancel_unconfirmed_at');
  });
}
