import type { Knex } from 'knex';

// DDL is not transactional on MySQL anyway; keep SQLite's behaviour the same.
export const config = { transaction: false };

/** Column default for "now" with milliseconds, in the same text form on both dialects (inlined: migrations import no application code). */
function nowDefault(knex: Knex): Knex.Raw {
  return knex.client.dialect === 'mysql' ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    // Usernames are unique regardless of case, on both dialects: "Nina" and "nina" are one user.
    if (knex.client.config.client === 'mysql2') t.string('username', 50).notNullable().collate('utf8mb4_unicode_ci').unique('users_username_unique');
    else t.specificType('username', 'varchar(50) collate nocase').notNullable().unique('users_username_unique');
    t.string('email', 255).notNullable().unique('users_email_unique');
    t.string('password_hash', 100).notNullable();
    t.string('role', 20).notNullable().defaultTo('customer');
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.datetime('updated_at', { precision: 3 }).notNullable().defaultTo(nowDefault(knex));
    t.check("?? in ('customer', 'admin')", ['role'], 'users_role_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
