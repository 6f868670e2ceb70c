import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * One row counting product deletions. With COUNT(*), SUM(version) and MAX(id) over products it
 * makes the catalog fingerprint (MySQL) move on every change: without it, adding a product and
 * removing it again would bring all three back to where they were.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('catalog_changes', (t) => {
    t.integer('id').primary();
    t.bigInteger('deletes').notNullable().defaultTo(0);
  });
  await knex('catalog_changes').insert({ id: 1, deletes: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('catalog_changes');
}
