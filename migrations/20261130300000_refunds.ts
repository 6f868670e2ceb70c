import type { Knex } from 'knex';

// DDL; SQLite rebuilds `orders` to change its status check, which must run outside a transaction.
export const config = { transaction: false };

const isMysql = (knex: Knex) => knex.client.config.client === 'mysql2';
const now = (knex: Knex) => (isMysql(knex) ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))"));

/**
 * Refunds (docs/data.md, "refunds"): the `refunded` order state, the amount refunded so far on
 * each order, when its stock was given back by a refund, and one row per refund made at Stripe.
 * The values are written here, not imported: a migration stays as it was written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropChecks(['orders_status_check']);
  });
  await knex.schema.alterTable('orders', (t) => {
    t.check("status in ('pending', 'paid', 'shipped', 'delivered', 'canceled', 'refunded')", [], 'orders_status_check');
    t.bigInteger('refunded_cents').notNullable().defaultTo(0);
    t.datetime('restocked_at', { precision: 3 }).nullable();
  });
  await knex.schema.createTable('refunds', (t) => {
    t.increments('id').primary();
    t.integer('order_id').unsigned().notNullable().references('id').inTable('orders');
    // NULL while the refund is being asked of Stripe (the amount is already reserved on the order).
    t.string('stripe_refund_id', 255).nullable().unique({ indexName: 'refunds_stripe_refund_unique' });
    t.bigInteger('amount_cents').notNullable();
    // pending (asked), succeeded, failed, canceled, requires_action: Stripe's refund status.
    t.string('status', 20).notNullable();
    t.boolean('restocked').notNullable().defaultTo(false);
    // The client's Idempotency-Key, when it sent one: a retried request finds its refund here.
    t.string('idempotency_key', 100).nullable();
    t.string('reason', 500).nullable();
    t.string('actor', 100).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    t.unique(['order_id', 'idempotency_key'], { indexName: 'refunds_order_idempotency_unique' });
    t.check('amount_cents > 0', [], 'refunds_amount_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refunds');
  await knex('orders').where('status', 'refunded').update({ status: 'delivered' });
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('refunded_cents');
    t.dropColumn('restocked_at');
    t.dropChecks(['orders_status_check']);
  });
  await knex.schema.alterTable('orders', (t) => {
    t.check("status in ('pending', 'paid', 'shipped', 'delivered', 'canceled')", [], 'orders_status_check');
  });
}
