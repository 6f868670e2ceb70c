import type { Knex } from 'knex';

export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refresh_tokens', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.specificType('token_hash', 'char(64)').notNullable().unique('refresh_tokens_hash_unique');
    t.string('family_id', 64).notNullable();
    t.datetime('expires_at', { precision: 3 }).notNullable();
    t.datetime('revoked_at', { precision: 3 }).nullable();
    t.integer('replaced_by_id').unsigned().nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.index(['family_id'], 'refresh_tokens_family_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refresh_tokens');
}
