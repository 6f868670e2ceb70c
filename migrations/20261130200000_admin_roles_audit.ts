import type { Knex } from 'knex';

// DDL; SQLite rebuilds `users` to change its role check, which must run outside a transaction
// (foreign keys are switched off around the rebuild; inside one that would be a no-op).
export const config = { transaction: false };

const isMysql = (knex: Knex) => knex.client.config.client === 'mysql2';
const now = (knex: Knex) => (isMysql(knex) ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))"));

/**
 * The admin API (docs/data.md): a `staff` role and disabled accounts, archived products, a
 * shipment's tracking number and carrier, and the audit log of every admin change.
 * The values are written here, not imported: a migration stays as it was written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropChecks(['users_role_check']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.check("role in ('customer', 'staff', 'admin')", [], 'users_role_check');
    t.datetime('disabled_at', { precision: 3 }).nullable();
  });
  await knex.schema.alterTable('products', (t) => {
    t.boolean('archived').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('orders', (t) => {
    t.string('tracking_number', 100).nullable();
    t.string('carrier', 50).nullable();
  });
  await knex.schema.createTable('audit_log', (t) => {
    t.increments('id').primary();
    // A user id as text, or `cli:<os user>`: no foreign key, the row outlives the account.
    t.string('actor', 100).notNullable();
    t.string('action', 50).notNullable();
    t.string('target_type', 20).notNullable();
    t.string('target_id', 50).notNullable();
    t.text('before');
    t.text('after');
    t.string('request_id', 100).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    t.index(['created_at'], 'audit_log_created_index');
    t.index(['target_type', 'target_id'], 'audit_log_target_index');
    t.index(['actor'], 'audit_log_actor_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('tracking_number');
    t.dropColumn('carrier');
  });
  await knex.schema.alterTable('products', (t) => {
    t.dropColumn('archived');
  });
  await knex('users').where('role', 'staff').update({ role: 'customer' });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('disabled_at');
    t.dropChecks(['users_role_check']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.check("role in ('customer', 'admin')", [], 'users_role_check');
  });
}
