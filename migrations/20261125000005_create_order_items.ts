import type { Knex } from 'knex';

export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('order_items', (t) => {
    t.increments('id').primary();
    t.integer('order_id').unsigned().notNullable().references('id').inTable('orders').onDelete('CASCADE');
    // A removed product leaves its snapshot behind in past orders.
    t.integer('product_id').unsigned().nullable().references('id').inTable('products').onDelete('SET NULL');
    t.string('name', 200).notNullable();
    t.bigInteger('unit_price_cents').notNullable();
    t.integer('quantity').notNullable();
    t.check('?? >= 0', ['unit_price_cents'], 'order_items_unit_price_check');
    t.check('?? > 0', ['quantity'], 'order_items_quantity_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('order_items');
}
