import type { Knex } from 'knex';

export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('products', (t) => {
    t.increments('id').primary();
    t.string('name', 200).notNullable();
    t.text('description');
    t.bigInteger('price_cents').notNullable();
    t.integer('stock').notNullable().defaultTo(0);
    t.string('image_url', 500);
    // Bumped by every write to the row (price, stock, text): with COUNT(*) and MAX(id) it gives
    // a catalog fingerprint that changes on any change, made by any process. (Dropped by
    // 20261130000000_catalog_revision: one revision row replaced it.)
    t.integer('version').notNullable().defaultTo(0);
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.datetime('updated_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.check('?? >= 0', ['price_cents'], 'products_price_cents_check');
    t.check('?? >= 0', ['stock'], 'products_stock_check');
    t.index(['name'], 'products_name_index');
    t.index(['created_at'], 'products_created_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('products');
}
