import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * Sign-in and refresh delete the user's expired refresh tokens (auth.service.ts); this index
 * makes finding them a short range read on both dialects instead of a scan of the table.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.index(['user_id', 'expires_at'], 'refresh_tokens_user_expires_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  // MariaDB dropped the foreign key's own index on user_id when this one could serve it: put
  // it back first, or the foreign key refuses to let this index go.
  if (knex.client.config.client === 'mysql2') {
    await knex.schema.alterTable('refresh_tokens', (t) => {
      t.index(['user_id'], 'refresh_tokens_user_id_foreign');
    });
  }
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.dropIndex(['user_id', 'expires_at'], 'refresh_tokens_user_expires_index');
  });
}
