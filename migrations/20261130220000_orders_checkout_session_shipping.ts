import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * Hosted checkout and shipping on orders (docs/data.md, "orders"):
 *   checkout_session_id  the order's Stripe Checkout Session (one per order), unique when present
 *   shipping_cents       the shipping cost, part of total_cents (0 for orders made before)
 *   ship_*               where the order goes: name, line1, line2, city, postal code, region and
 *                        the country as an ISO 3166-1 alpha-2 code; all NULL while unknown
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.string('checkout_session_id', 255).nullable();
    t.integer('shipping_cents').notNullable().defaultTo(0);
    t.string('ship_name', 200).nullable();
    t.string('ship_line1', 200).nullable();
    t.string('ship_line2', 200).nullable();
    t.string('ship_city', 100).nullable();
    t.string('ship_postal_code', 20).nullable();
    t.string('ship_region', 100).nullable();
    t.string('ship_country', 2).nullable();
    t.unique(['checkout_session_id'], { indexName: 'orders_checkout_session_id_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropUnique(['checkout_session_id'], 'orders_checkout_session_id_unique');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumns(
      'checkout_session_id',
      'shipping_cents',
      'ship_name',
      'ship_line1',
      'ship_line2',
      'ship_city',
      'ship_postal_code',
      'ship_region',
      'ship_country',
    );
  });
}
