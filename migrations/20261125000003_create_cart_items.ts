import type { Knex } from 'knex';

export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cart_items', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.integer('product_id').unsigned().notNullable().references('id').inTable('products').onDelete('CASCADE');
    t.integer('quantity').notNullable();
    t.datetime('added_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    // One line per product per user: concurrent adds must merge, never duplicate.
    t.unique(['user_id', 'product_id'], { indexName: 'cart_items_user_product_unique' });
    t.check('?? > 0', ['quantity'], 'cart_items_quantity_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('cart_items');
}
