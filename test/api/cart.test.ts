import test from 'ava';
import { signAccessToken } from '../../src/auth/access-token.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { signedInCustomer } from '../helpers/customers.js';
import { createProduct, updateProduct } from '../helpers/services.js';

let app: TestApp;
test.before(async () => {
  app = await startApp();
});
test.after.always(async () => {
  await app?.close();
});

let seq = 0;

/** A fresh customer and the Bearer header that signs them in (the auth routes are not needed). */
async function customer() {
  const { id, auth: headers } = await signedInCustomer(app.t.db, app.config.accessTokenSecret, 'cart');
  const c = app.client();
  return {
    id,
    get: (path: string) => c.get(path, headers),
    post: (path: string, json?: unknown) => c.post(path, json, headers),
    delete: (path: string) => c.delete(path, headers),
  };
}

/** A product of its own for each test (tests in a file run concurrently). */
async function product(price = '10.00', stock = 5) {
  const n = ++seq;
  return createProduct(app.t.db, { name: `Cart watch ${n}`, price, stock, image_url: `/images/cart-${n}.svg` });
}

const rowsOf = (userId: number) => app.t.db('cart_items').where({ user_id: userId }).orderBy('product_id').select('product_id', 'quantity');
const stockOf = async (id: number) => Number((await app.t.db('products').where({ id }).first('stock')).stock);

test('when nobody is signed in, then every cart endpoint answers 401 UNAUTHENTICATED and changes nothing', async (t) => {
  const p = await product();
  const anon = app.client();
  const calls = [
    anon.get('/api/cart'),
    anon.post('/api/cart', { product_id: p.id }),
    anon.post('/api/cart/increment', { product_id: p.id }),
    anon.post('/api/cart/decrement', { product_id: p.id }),
    anon.delete(`/api/cart/${p.id}`),
    anon.delete('/api/cart'),
    anon.get('/api/cart', { authorization: 'Bearer not-a-jwt' }),
    anon.get('/api/cart', { authorization: `Bearer ${signAccessToken({ id: 1, role: 'customer' }, 'some-other-secret-0123456789abcdef')}` }),
  ];
  for (const res of await Promise.all(calls)) {
    t.is(res.status, 401);
    t.is(res.body.error.code, 'UNAUTHENTICATED');
  }
  t.deepEqual(await app.t.db('cart_items').where({ product_id: p.id }).select('id'), []);
});

test('when a new customer looks at the cart, then it is empty with zero totals in the store currency', async (t) => {
  const u = await customer();
  const res = await u.get('/api/cart');
  t.is(res.status, 200);
  t.deepEqual(res.body, { items: [], count: 0, total: 0, total_cents: 0, currency: 'usd' });
  t.is(res.headers.get('cache-control'), 'no-store');
});

test('when products are added, then lines carry live product data, the same product adds to its line, and count is the sum of quantities', async (t) => {
  const u = await customer();
  const a = await product('12.50', 10);
  const b = await product('100.00', 3);

  const first = await u.post('/api/cart', { product_id: a.id });
  t.is(first.status, 200);
  t.deepEqual(first.body.items, [
    {
      product_id: a.id,
      name: a.name,
      price: 12.5,
      price_cents: 1250,
      quantity: 1,
      line_total: 12.5,
      line_total_cents: 1250,
      image_url: a.image_url,
      stock: 10,
    },
  ]);

  await u.post('/api/cart', { product_id: b.id, quantity: 2 });
  const res = await u.post('/api/cart', { product_id: a.id, quantity: 3 });
  t.is(res.status, 200);
  t.deepEqual(
    res.body.items.map((i: { product_id: number; quantity: number; line_total_cents: number }) => [i.product_id, i.quantity, i.line_total_cents]),
    [
      [a.id, 4, 5000],
      [b.id, 2, 20000],
    ],
  );
  t.is(res.body.count, 6);
  t.is(res.body.total_cents, 25000);
  t.is(res.body.total, 250);
  t.is(res.body.currency, 'usd');
  t.deepEqual(await rowsOf(u.id), [
    { product_id: a.id, quantity: 4 },
    { product_id: b.id, quantity: 2 },
  ]);
  t.deepEqual((await u.get('/api/cart')).body, res.body);

  // Prices are live: the cart shows what the product costs now.
  await updateProduct(app.t.db, a.id, { price: '9.99' });
  const repriced = await u.get('/api/cart');
  t.like(repriced.body.items[0], { price: 9.99, price_cents: 999, line_total: 39.96, line_total_cents: 3996 });
  t.is(repriced.body.total_cents, 3996 + 20000);
});

test('when the body sets price, stock or user_id, then they are ignored', async (t) => {
  const u = await customer();
  const other = await customer();
  const p = await product('50.00', 5);
  const res = await u.post('/api/cart', { product_id: p.id, quantity: 2, price: 0.01, price_cents: 1, stock: 9999, user_id: other.id, line_total_cents: 0 });
  t.is(res.status, 200);
  t.like(res.body.items[0], { product_id: p.id, quantity: 2, price_cents: 5000, line_total_cents: 10000, stock: 5 });
  t.deepEqual(await rowsOf(u.id), [{ product_id: p.id, quantity: 2 }]);
  t.deepEqual(await rowsOf(other.id), []);
  t.is(await stockOf(p.id), 5, 'adding to a cart never touches stock');
});

test('when the product does not exist, then adding is 404 NOT_FOUND and the cart is unchanged', async (t) => {
  const u = await customer();
  const res = await u.post('/api/cart', { product_id: 2_000_000_000 });
  t.is(res.status, 404);
  t.is(res.body.error.code, 'NOT_FOUND');
  t.deepEqual(await rowsOf(u.id), []);
});

test('when the add body is invalid, then the answer is 400 VALIDATION_FAILED with the field and nothing changes', async (t) => {
  const u = await customer();
  const p = await product();
  const cases: [unknown, string][] = [
    [{}, 'product_id'],
    [{ product_id: 'one' }, 'product_id'],
    [{ product_id: -1 }, 'product_id'],
    [{ product_id: 1.5 }, 'product_id'],
    [{ product_id: 3_000_000_000 }, 'product_id'],
    [{ product_id: p.id, quantity: 0 }, 'quantity'],
    [{ product_id: p.id, quantity: 100 }, 'quantity'],
    [{ product_id: p.id, quantity: 2.5 }, 'quantity'],
    [{ product_id: p.id, quantity: '2' }, 'quantity'],
  ];
  for (const [body, path] of cases) {
    const res = await u.post('/api/cart', body);
    t.is(res.status, 400, JSON.stringify(body));
    t.is(res.body.error.code, 'VALIDATION_FAILED');
    t.true(
      res.body.error.details.some((d: { path: string }) => d.path === path),
      JSON.stringify(res.body.error.details),
    );
  }
  for (const path of ['/api/cart/increment', '/api/cart/decrement']) {
    const res = await u.post(path, { product_id: '1' });
    t.is(res.status, 400);
    t.is(res.body.error.details[0].path, 'product_id');
  }
  t.deepEqual(await rowsOf(u.id), []);
});

test('when an add would go beyond the stock, then it is 409 OUT_OF_STOCK with details and nothing changes', async (t) => {
  const u = await customer();
  const p = await product('10.00', 5);
  const none = await product('10.00', 0);

  const tooMany = await u.post('/api/cart', { product_id: p.id, quantity: 6 });
  t.is(tooMany.status, 409);
  t.is(tooMany.body.error.code, 'OUT_OF_STOCK');
  t.deepEqual(tooMany.body.error.details, [{ product_id: p.id, requested: 6, available: 5 }]);
  t.deepEqual(await rowsOf(u.id), []);

  t.is((await u.post('/api/cart', { product_id: p.id, quantity: 4 })).status, 200);
  const over = await u.post('/api/cart', { product_id: p.id, quantity: 2 });
  t.is(over.status, 409);
  t.deepEqual(over.body.error.details, [{ product_id: p.id, requested: 2, available: 1 }]);
  t.deepEqual(await rowsOf(u.id), [{ product_id: p.id, quantity: 4 }]);

  const exact = await u.post('/api/cart', { product_id: p.id, quantity: 1 });
  t.is(exact.status, 200);
  t.is(exact.body.items[0].quantity, 5, 'up to the stock exactly is allowed');

  const soldOut = await u.post('/api/cart', { product_id: none.id });
  t.is(soldOut.status, 409);
  t.deepEqual(soldOut.body.error.details, [{ product_id: none.id, requested: 1, available: 0 }]);
  t.deepEqual(await rowsOf(u.id), [{ product_id: p.id, quantity: 5 }]);
});

test('when a line is incremented, then it grows by one up to the stock; not in the cart is 404', async (t) => {
  const u = await customer();
  const p = await product('10.00', 2);
  await u.post('/api/cart', { product_id: p.id });

  const inc = await u.post('/api/cart/increment', { product_id: p.id });
  t.is(inc.status, 200);
  t.is(inc.body.items[0].quantity, 2);
  t.is(inc.body.count, 2);

  const atStock = await u.post('/api/cart/increment', { product_id: p.id });
  t.is(atStock.status, 409);
  t.is(atStock.body.error.code, 'OUT_OF_STOCK');
  t.deepEqual(atStock.body.error.details, [{ product_id: p.id, requested: 1, available: 0 }]);
  t.deepEqual(await rowsOf(u.id), [{ product_id: p.id, quantity: 2 }]);

  const other = await product();
  const missing = await u.post('/api/cart/increment', { product_id: other.id });
  t.is(missing.status, 404);
  t.is(missing.body.error.code, 'NOT_FOUND');
  t.deepEqual(await rowsOf(u.id), [{ product_id: p.id, quantity: 2 }], 'increment does not create a line');
});

test('when a line is decremented, then it shrinks by one and at quantity 1 it is removed; not in the cart is 404', async (t) => {
  const u = await customer();
  const p = await product('10.00', 5);
  const q = await product('20.00', 5);
  await u.post('/api/cart', { product_id: p.id, quantity: 2 });
  await u.post('/api/cart', { product_id: q.id });

  const dec = await u.post('/api/cart/decrement', { product_id: p.id });
  t.is(dec.status, 200);
  t.like(dec.body.items[0], { product_id: p.id, quantity: 1 });

  const gone = await u.post('/api/cart/decrement', { product_id: p.id });
  t.is(gone.status, 200);
  t.deepEqual(
    gone.body.items.map((i: { product_id: number }) => i.product_id),
    [q.id],
  );
  t.deepEqual(await rowsOf(u.id), [{ product_id: q.id, quantity: 1 }], 'no line of quantity 0 is left behind');

  const again = await u.post('/api/cart/decrement', { product_id: p.id });
  t.is(again.status, 404);
  t.is(again.body.error.code, 'NOT_FOUND');
});

test('when a line is deleted, then it is gone; a product not in the cart or a bad id is 404', async (t) => {
  const u = await customer();
  const p = await product();
  const q = await product();
  await u.post('/api/cart', { product_id: p.id, quantity: 3 });
  await u.post('/api/cart', { product_id: q.id });

  const res = await u.delete(`/api/cart/${p.id}`);
  t.is(res.status, 200);
  t.deepEqual(
    res.body.items.map((i: { product_id: number }) => i.product_id),
    [q.id],
  );
  t.is(res.body.count, 1);

  for (const id of [String(p.id), '999999', '0', '-1', 'abc', '1.5', '99999999999']) {
    const miss = await u.delete(`/api/cart/${id}`);
    t.is(miss.status, 404, id);
    t.is(miss.body.error.code, 'NOT_FOUND', id);
  }
  t.deepEqual(await rowsOf(u.id), [{ product_id: q.id, quantity: 1 }]);
});

test('when the cart is emptied, then every line of that user goes, and emptying an empty cart is fine', async (t) => {
  const u = await customer();
  const other = await customer();
  const p = await product();
  const q = await product();
  await u.post('/api/cart', { product_id: p.id, quantity: 2 });
  await u.post('/api/cart', { product_id: q.id });
  await other.post('/api/cart', { product_id: p.id });

  const res = await u.delete('/api/cart');
  t.is(res.status, 200);
  t.deepEqual(res.body, { items: [], count: 0, total: 0, total_cents: 0, currency: 'usd' });
  t.deepEqual(await rowsOf(u.id), []);
  t.deepEqual(await rowsOf(other.id), [{ product_id: p.id, quantity: 1 }], "another user's cart is untouched");
  t.is((await u.delete('/api/cart')).status, 200);
});

test("when another user acts on a product only user A has in the cart, then it is 404 for them and A's line is intact", async (t) => {
  const a = await customer();
  const b = await customer();
  const p = await product('10.00', 5);
  await a.post('/api/cart', { product_id: p.id, quantity: 2 });

  const seen = await b.get('/api/cart');
  t.deepEqual(seen.body.items, [], "B never sees A's lines");
  for (const res of [
    await b.delete(`/api/cart/${p.id}`),
    await b.post('/api/cart/decrement', { product_id: p.id }),
    await b.post('/api/cart/increment', { product_id: p.id }),
  ]) {
    t.is(res.status, 404);
    t.is(res.body.error.code, 'NOT_FOUND');
  }
  t.is((await b.delete('/api/cart')).status, 200);

  t.deepEqual(await rowsOf(a.id), [{ product_id: p.id, quantity: 2 }]);
  t.deepEqual(await rowsOf(b.id), []);
  t.like((await a.get('/api/cart')).body, { count: 2, total_cents: 2000 });
});

test('when a product in a cart is removed from the catalog, then its line disappears from the cart', async (t) => {
  const u = await customer();
  const p = await product();
  const q = await product();
  await u.post('/api/cart', { product_id: p.id });
  await u.post('/api/cart', { product_id: q.id });
  await app.t.db('products').where({ id: p.id }).delete();
  const res = await u.get('/api/cart');
  t.deepEqual(
    res.body.items.map((i: { product_id: number }) => i.product_id),
    [q.id],
  );
});
