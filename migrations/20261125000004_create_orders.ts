import type { Knex } from 'knex';

export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('orders', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users');
    t.string('status', 20).notNullable().defaultTo('pending');
    t.bigInteger('total_cents').notNullable();
    t.specificType('currency', 'char(3)').notNullable();
    t.string('idempotency_key', 100).nullable();
    t.string('payment_intent_id', 255).nullable().unique('orders_payment_intent_unique');
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.datetime('updated_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.datetime('paid_at', { precision: 3 }).nullable();
    // NULL keys never collide, so only requests that sent a key are deduplicated.
    t.unique(['user_id', 'idempotency_key'], { indexName: 'orders_user_idempotency_unique' });
    t.check('?? >= 0', ['total_cents'], 'orders_total_cents_check');
    t.check("?? in ('pending', 'paid', 'shipped', 'delivered', 'canceled')", ['status'], 'orders_status_check');
    t.index(['user_id', 'created_at'], 'orders_user_created_index');
    t.index(['status', 'created_at'], 'orders_status_created_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('orders');
}
