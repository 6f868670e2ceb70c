import type { Knex } from 'knex';

const isMysql = (knex: Knex) => knex.client.config.client === 'mysql2';
const now = (knex: Knex) => (isMysql(knex) ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))"));

/**
 * Notifications (docs/data.md, "outbox"): the transactional outbox every e-mail and outgoing
 * webhook leaves through, the shop's webhook endpoints and their delivery log, password-reset
 * tokens, and the e-mail Stripe collected on the hosted page for orders whose account has none.
 * The values are written here, not imported: a migration stays as it was written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.increments('id').primary();
    t.string('url', 2000).notNullable();
    // Comma-separated event names (order.paid, order.shipped, order.canceled, order.refunded).
    t.string('events', 500).notNullable();
    // The HMAC-SHA256 signing secret (whsec_…): kept to sign, shown to the admin on creation.
    t.string('secret', 100).notNullable();
    t.string('description', 200).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    // Set when the endpoint is removed: its delivery log stays readable, nothing new is queued.
    t.datetime('removed_at', { precision: 3 }).nullable();
  });

  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    // email | webhook: which transport delivers the row.
    t.string('kind', 20).notNullable();
    // What happened: order.paid, password.reset, account.email_changed, …
    t.string('topic', 60).notNullable();
    // Stable per message: the dedupe key (a second enqueue of the same key is ignored) and the
    // base of the e-mail's Message-ID / the webhook's delivery id.
    t.string('message_key', 190).notNullable().unique({ indexName: 'outbox_message_key_unique' });
    // An e-mail address, or the endpoint's URL as it was when queued (for lists; delivery reads
    // the endpoint row).
    t.string('recipient', 2000).notNullable();
    t.integer('endpoint_id').unsigned().nullable().references('id').inTable('webhook_endpoints');
    // The message as it will be sent (JSON): rendered once, in the transaction that caused it.
    t.text('payload', 'mediumtext').notNullable();
    // pending (due at available_at, or leased until then) | sent | dead.
    t.string('status', 10).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    // When the row is next due: now when queued, the lease's end while a worker holds it, the
    // backoff's end after a failure.
    t.datetime('available_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    // The claim that holds the row (a random token per claim); a late worker cannot complete a
    // row another claim took over.
    t.string('claim_token', 64).nullable();
    t.string('last_error', 1000).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    t.datetime('sent_at', { precision: 3 }).nullable();
    t.index(['status', 'available_at'], 'outbox_status_available_idx');
    t.check("status in ('pending', 'sent', 'dead')", [], 'outbox_status_check');
    t.check("kind in ('email', 'webhook')", [], 'outbox_kind_check');
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.integer('endpoint_id').unsigned().notNullable().references('id').inTable('webhook_endpoints');
    t.bigInteger('outbox_id').unsigned().notNullable().references('id').inTable('outbox');
    t.string('event', 60).notNullable();
    t.integer('attempt').notNullable();
    // The receiver's HTTP status; NULL when no answer came (refused, timed out).
    t.integer('status_code').nullable();
    t.boolean('ok').notNullable();
    t.string('error', 1000).nullable();
    t.integer('duration_ms').notNullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    t.index(['endpoint_id', 'id'], 'webhook_deliveries_endpoint_idx');
  });

  await knex.schema.createTable('password_resets', (t) => {
    t.increments('id').primary();
    t.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    // SHA-256 of the token, hex: the token itself is only in the e-mail.
    t.string('token_hash', 64).notNullable().unique({ indexName: 'password_resets_token_unique' });
    t.datetime('expires_at', { precision: 3 }).notNullable();
    t.datetime('used_at', { precision: 3 }).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable().defaultTo(now(knex));
    t.index(['user_id'], 'password_resets_user_idx');
  });

  await knex.schema.alterTable('orders', (t) => {
    // The address Stripe's hosted page collected, for an order whose account has no e-mail.
    t.string('customer_email', 254).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('orders', (t) => {
    t.dropColumn('customer_email');
  });
  await knex.schema.dropTable('password_resets');
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('outbox');
  await knex.schema.dropTable('webhook_endpoints');
}
