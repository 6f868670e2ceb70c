import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * Ending a user's sessions reaches their access tokens too (docs/data.md, "Session revocation"):
 * users.session_epoch is raised each time, and an access token carries the epoch it was issued
 * under; sessions_revoked_at (indexed) lets a server load only the revocations recent enough
 * to matter. auth_revision is one row raised in the same transaction, which every server reads
 * (one primary-key read, shared by concurrent requests) to know when to load them again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.integer('session_epoch').notNullable().defaultTo(0);
    t.datetime('sessions_revoked_at', { precision: 3 }).nullable();
    t.index(['sessions_revoked_at'], 'users_sessions_revoked_at_index');
  });
  await knex.schema.createTable('auth_revision', (t) => {
    t.integer('id').primary();
    t.bigInteger('revision').notNullable().defaultTo(0);
  });
  await knex('auth_revision').insert({ id: 1, revision: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('auth_revision');
  await knex.schema.alterTable('users', (t) => {
    t.dropIndex(['sessions_revoked_at'], 'users_sessions_revoked_at_index');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('sessions_revoked_at');
    t.dropColumn('session_epoch');
  });
}
