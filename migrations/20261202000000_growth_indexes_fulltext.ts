import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * Database growth (docs/data.md, Indexes and full-text search): an index for every hot query of
 * the catalog, carts, orders and the admin, checked by test/integration/query-plans.test.ts with
 * EXPLAIN on a large generated store, and the products' full-text index:
 *   MariaDB  a FULLTEXT index on (name, description)
 *   SQLite   products_fts, an FTS5 table over products (external content, no second copy of the
 *            text) kept in step by three triggers
 * The catalog always filters on archived = false, so its sorts and filters lead with archived;
 * the admin lists archived products too, so price also has an index of its own. Stock has one
 * index only, (archived, stock), which also counts the catalog's in-stock products on the index
 * alone: every order changes stock, and each index on it is one more to update in the order's
 * transaction.
 */
const PRODUCT_INDEXES: Array<[string[], string]> = [
  [['archived', 'created_at', 'id'], 'products_archived_created_index'],
  [['archived', 'price_cents', 'id'], 'products_archived_price_index'],
  [['archived', 'name', 'id'], 'products_archived_name_index'],
  [['archived', 'stock'], 'products_archived_stock_index'],
  [['price_cents'], 'products_price_index'],
];

const isMysql = (knex: Knex) => knex.client.config.client === 'mysql2';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('products', (t) => {
    for (const [cols, name] of PRODUCT_INDEXES) t.index(cols, name);
  });
  // The admin order list without a status (newest first, or from a date).
  await knex.schema.alterTable('orders', (t) => {
    t.index(['created_at'], 'orders_created_index');
  });
  // An admin order's Stripe events.
  await knex.schema.alterTable('stripe_events', (t) => {
    t.index(['order_id'], 'stripe_events_order_index');
  });
  // The audit list filtered by action (newest first), and the users list filtered by role.
  await knex.schema.alterTable('audit_log', (t) => {
    t.index(['action', 'id'], 'audit_log_action_index');
  });
  await knex.schema.alterTable('users', (t) => {
    t.index(['role', 'id'], 'users_role_index');
  });

  if (isMysql(knex)) {
    // InnoDB made an index for each foreign key already (order_items.order_id, .product_id,
    // cart_items.product_id); SQLite makes none, and deleting a product or an order would scan.
    await knex.raw('ALTER TABLE products ADD FULLTEXT INDEX products_fulltext (name, description)');
    return;
  }
  await knex.schema.alterTable('order_items', (t) => {
    t.index(['order_id'], 'order_items_order_index');
    t.index(['product_id'], 'order_items_product_index');
  });
  await knex.schema.alterTable('cart_items', (t) => {
    t.index(['product_id'], 'cart_items_product_index');
  });
  await knex.raw("CREATE VIRTUAL TABLE products_fts USING fts5(name, description, content='products', content_rowid='id')");
  // An external-content table holds only the index: each change to the text is told to it, the
  // old text removed with the 'delete' command (it must be the text indexed), the new one added.
  await knex.raw(`CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name, description) VALUES (new.id, new.name, new.description);
  END`);
  await knex.raw(`CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
  END`);
  await knex.raw(`CREATE TRIGGER products_fts_update AFTER UPDATE OF name, description ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
    INSERT INTO products_fts (rowid, name, description) VALUES (new.id, new.name, new.description);
  END`);
  await knex.raw("INSERT INTO products_fts (products_fts) VALUES ('rebuild')");
}

export async function down(knex: Knex): Promise<void> {
  if (isMysql(knex)) {
    await knex.raw('ALTER TABLE products DROP INDEX products_fulltext');
  } else {
    for (const trigger of ['products_fts_insert', 'products_fts_delete', 'products_fts_update']) await knex.raw(`DROP TRIGGER IF EXISTS ${trigger}`);
    await knex.raw('DROP TABLE IF EXISTS products_fts');
    await knex.schema.alterTable('cart_items', (t) => {
      t.dropIndex(['product_id'], 'cart_items_product_index');
    });
    await knex.schema.alterTable('order_items', (t) => {
      t.dropIndex(['order_id'], 'order_items_order_index');
      t.dropIndex(['product_id'], 'order_items_product_index');
    });
  }
  await knex.schema.alterTable('users', (t) => {
    t.dropIndex(['role', 'id'], 'users_role_index');
  });
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['action', 'id'], 'audit_log_action_index');
  });
  await knex.schema.alterTable('stripe_events', (t) => {
    t.dropIndex(['order_id'], 'stripe_events_order_index');
  });
  await knex.schema.alterTable('orders', (t) => {
    t.dropIndex(['created_at'], 'orders_created_index');
  });
  await knex.schema.alterTable('products', (t) => {
    for (const [cols, name] of PRODUCT_INDEXES) t.dropIndex(cols, name);
  });
}
