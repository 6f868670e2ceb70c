import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * One catalog freshness rule (docs/data.md): a single row whose revision every write to products
 * raises, in the same transaction (the products repository does it). It replaces the per-row
 * `version` column and the `catalog_changes` delete counter, which together with COUNT(*) and
 * MAX(id) made a fingerprint that cost a full-table aggregate per catalog request.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('catalog_revision', (t) => {
    t.integer('id').primary();
    t.bigInteger('revision').notNullable().defaultTo(0);
  });
  await knex('catalog_revision').insert({ id: 1, revision: 0 });
  await knex.schema.dropTable('catalog_changes');
  // Native on both dialects (SQLite >= 3.35): no table rebuild.
  await knex.raw('ALTER TABLE products DROP COLUMN version');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => {
    t.integer('version').notNullable().defaultTo(0);
  });
  await knex.schema.createTable('catalog_changes', (t) => {
    t.integer('id').primary();
    t.bigInteger('deletes').notNullable().defaultTo(0);
  });
  await knex('catalog_changes').insert({ id: 1, deletes: 0 });
  await knex.schema.dropTable('catalog_revision');
}
