import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * users.email becomes optional (docs/data.md, "users"): accounts made through the old backend's
 * sign-up form (the compatibility adapter, docs/legacy.md) have none until the customer adds one
 * (PATCH /api/auth/me). The unique key stays: two users never share an address, and any number
 * may have none (NULLs do not clash in a unique index on either dialect).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('email', 255).nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  // NOT NULL again: accounts without an e-mail get a placeholder that can never be delivered to.
  const placeholder = knex.client.config.client === 'mysql2' ? "CONCAT('user-', id, '@invalid')" : "'user-' || id || '@invalid'";
  await knex('users')
    .whereNull('email')
    .update({ email: knex.raw(placeholder) });
  await knex.schema.alterTable('users', (t) => {
    t.string('email', 255).notNullable().alter();
  });
}
