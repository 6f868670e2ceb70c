import type { Knex } from 'knex';
import { nowDefault } from '../src/db/connection.js';

export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('products', (t) => {
    t.increments('id').primary();
    t.string('name', 200).notNullable();
    t.text('description');
    t.bigInteger('price_cents').notNullable();
    t.integer('stock').notNullable().defaultTo(0);
    t.string('image_url', 500);
    // Bumped by every write to the row (price, stock, text): with COUNT(*) and MAX(id) it gives
    // a catalog fingerprint that changes on any change, made by any process.
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
