import type { Knex } from 'knex';

export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stripe_events', (t) => {
    // Stripe's event id: the primary key is what makes every event apply at most once.
    t.string('id', 255).primary();
    t.string('type', 100).notNullable();
    t.string('payment_intent_id', 255).nullable();
    t.integer('order_id').unsigned().nullable();
    t.datetime('received_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.string('outcome', 255).notNullable();
    t.index(['payment_intent_id'], 'stripe_events_intent_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('stripe_events');
}
