/**
 * The catalog listing is served from memory while the catalog is unchanged. These tests prove
 * the guarantee that matters: after a change made by anyone — another connection (another
 * server), the CLI as a separate process, an order taking stock — the next listing shows it.
 */
import test from 'ava';
import { createDb, type Db } from '../../src/db/connection.js';
import { cancelOrder } from '../../src/orders/orders.service.js';
import { catalogCacheStats } from '../../src/products/catalog-cache.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { signedInCustomer } from '../helpers/customers.js';
import { changeStock, createOrderFromCart, createProduct, removeProduct, updateProduct } from '../helpers/services.js';

let app: TestApp;
/** A second pool on the same database: writes through it are writes "from another process". */
let other: Db;

test.before(async () => {
  app = await startApp({ seed: true });
  other = createDb(app.t.config);
});
test.after.always(async () => {
  await other?.destroy();
  await app?.close();
});

const listing = async (query = 'limit=100&sort=name') => {
  const res = await app.client().get(`/api/products?${query}`);
  if (res.status !== 200) throw new Error(`listing answered ${res.status}`);
  return res;
};
type Item = { id: number; price: number; price_cents: number; stock: number };
const find = (body: { items: Item[] }, id: number) => body.items.find((p) => p.id === id);

test.serial('when the same page is asked twice with nothing changed, then the bytes and the ETag are identical', async (t) => {
  const a = await listing();
  const b = await listing();
  t.is(a.text, b.text);
  t.is(a.headers.get('etag'), b.headers.get('etag'));
});

test.serial('when another connection changes price and stock between two listings, then the second shows both', async (t) => {
  const first = await listing();
  const p = first.body.items[0];
  await updateProduct(other, p.id, { price: '1234.56' });
  const second = await listing();
  t.is(find(second.body, p.id)!.price_cents, 123456);
  t.not(second.headers.get('etag'), first.headers.get('etag'));

  await changeStock(other, p.id, '+3');
  const third = await listing();
  t.is(find(third.body, p.id)!.stock, find(second.body, p.id)!.stock + 3);
});

test.serial('when stock changes fifty times in a row, then every listing right after a change shows it', async (t) => {
  const p = (await listing()).body.items[1];
  await changeStock(other, p.id, '100');
  for (let i = 1; i <= 50; i++) {
    await changeStock(other, p.id, '-1');
    const seen = find((await listing()).body, p.id)!.stock;
    if (seen !== 100 - i) return t.fail(`after change ${i} the listing showed stock ${seen}, not ${100 - i}`);
  }
  t.pass();
});

test.serial('when two products change in opposite directions, then the listing still changes', async (t) => {
  const items = (await listing()).body.items;
  const [a, b] = [items[2], items[3]];
  await changeStock(other, a.id, '10');
  await changeStock(other, b.id, '10');
  await listing();
  // The stock total stays the same; the revision must still move.
  await changeStock(other, a.id, '-1');
  await changeStock(other, b.id, '+1');
  const after = (await listing()).body;
  t.is(find(after, a.id)!.stock, 9);
  t.is(find(after, b.id)!.stock, 11);
});

test.serial('when a product is added or removed elsewhere, then the listing and its total follow', async (t) => {
  const before = (await listing()).body;
  const added = await createProduct(other, { name: 'Freshness Test Field', price: '10.00', stock: 1 });
  const withIt = (await listing()).body;
  t.is(withIt.total, before.total + 1);
  t.truthy(find(withIt, added.id));
  await removeProduct(other, added.id);
  const without = (await listing()).body;
  t.is(without.total, before.total);
  t.falsy(find(without, added.id));
});

test.serial('when the shop owner changes a price with the CLI, then the next listing shows the new price', async (t) => {
  const p = (await listing()).body.items[4];
  const res = await runCli(['products', 'update', String(p.id), '--price', '77.70'], { env: { DATABASE_URL: app.t.url } });
  t.is(res.code, 0, res.stderr);
  t.is(find((await listing()).body, p.id)!.price, 77.7);
  const stock = await runCli(['products', 'stock', String(p.id), '42'], { env: { DATABASE_URL: app.t.url } });
  t.is(stock.code, 0, stock.stderr);
  t.is(find((await listing()).body, p.id)!.stock, 42);
});

test.serial('when another connection places an order and cancels it, then the listing shows the stock taken and then returned', async (t) => {
  const p = (await listing()).body.items[5];
  await changeStock(other, p.id, '20');
  await listing();
  const buyer = await signedInCustomer(other, app.config.accessTokenSecret, 'fresh');
  await other('cart_items').insert({ user_id: buyer.id, product_id: p.id, quantity: 3 });
  const { order } = await createOrderFromCart(other, buyer.id);
  t.is(find((await listing()).body, p.id)!.stock, 17);
  t.true(await cancelOrder(other, order.id));
  t.is(find((await listing()).body, p.id)!.stock, 20);
});

test.serial('when a user and a cart line are written between two listings but no product changes, then the second listing is served from memory', async (t) => {
  const first = await listing();
  const customer = await signedInCustomer(app.t.db, app.config.accessTokenSecret, 'browse');
  const before = catalogCacheStats();
  const cart = await app.client().request('POST', '/api/cart', { json: { product_id: first.body.items[0].id, quantity: 1 }, headers: customer.auth });
  t.is(cart.status, 200, cart.text);
  const second = await listing();
  t.is(second.text, first.text);
  const after = catalogCacheStats();
  t.is(after.hits - before.hits, 1, 'the listing was a cache hit');
  t.is(after.misses, before.misses);
});
