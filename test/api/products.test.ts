import test from 'ava';
import { startApp, type TestApp } from '../helpers/app.js';
import { changeStock, createProduct, updateProduct } from '../helpers/services.js';

let app: TestApp;
const ids: Record<string, number> = {};

// Inserted oldest first, so `newest` lists them in reverse. The names sort the same under SQLite's
// binary collation and MariaDB's utf8mb4_unicode_ci (capitalised, and no two differ first at a '_').
const CATALOG = [
  { key: 'alpha', name: 'Alpha 100% Steel', description: 'A steel dress watch', price: '100.00', stock: 5 },
  { key: 'omega', name: 'Omega 1000 Chrono', description: 'A chronograph', price: '1000.00', stock: 1 },
  { key: 'beta_', name: 'Beta_Diver', description: 'A DIVE watch', price: '250.50', stock: 0 },
  { key: 'betax', name: 'Zeta Betax Diver', description: 'Another dive watch', price: '300.00', stock: 2 },
  { key: 'gamma', name: 'Gamma Pilot', description: null, price: '75.25', stock: 3 },
];

test.before(async () => {
  app = await startApp();
  for (const p of CATALOG) {
    const { key, ...input } = p;
    ids[key] = (await createProduct(app.t.db, { ...input, image_url: `/images/${key}.svg` })).id;
  }
});
test.after.always(async () => {
  await app?.close();
});

const names = (body: { items: { name: string }[] }) => body.items.map((p) => p.name);
const get = (path: string, headers?: Record<string, string>) => app.client().get(path, headers);

test('when the catalog is listed without a query, then it is the newest first with the list envelope and full product objects', async (t) => {
  const res = await get('/api/products');
  t.is(res.status, 200);
  t.is(res.body.total, 5);
  t.is(res.body.limit, 20);
  t.is(res.body.offset, 0);
  t.deepEqual(names(res.body), ['Gamma Pilot', 'Zeta Betax Diver', 'Beta_Diver', 'Omega 1000 Chrono', 'Alpha 100% Steel']);
  const beta = res.body.items.find((p: { name: string }) => p.name === 'Beta_Diver');
  t.deepEqual(
    Object.keys(beta).sort(),
    ['created_at', 'currency', 'description', 'id', 'image_url', 'in_stock', 'name', 'price', 'price_cents', 'stock'].sort(),
  );
  t.like(beta, {
    id: ids.beta_,
    price: 250.5,
    price_cents: 25050,
    currency: 'usd',
    stock: 0,
    in_stock: false,
    image_url: '/images/beta_.svg',
    description: 'A DIVE watch',
  });
  t.regex(beta.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(res.headers.get('cache-control'), 'no-cache');
});

test('when q is given, then it matches name or description case-insensitively', async (t) => {
  t.deepEqual(names((await get('/api/products?q=gAMMA')).body), ['Gamma Pilot']);
  t.deepEqual(names((await get('/api/products?q=dive&sort=name')).body), ['Beta_Diver', 'Zeta Betax Diver']);
  t.deepEqual(names((await get('/api/products?q=steel%20dress')).body), ['Alpha 100% Steel']);
  const none = await get('/api/products?q=nothing-like-this');
  t.is(none.body.total, 0);
  t.deepEqual(none.body.items, []);
});

test('when q contains % or _, then they are taken literally, not as wildcards', async (t) => {
  // As a wildcard, "100%" would also match "1000" and "Beta_" would also match "Betax".
  t.deepEqual(names((await get('/api/products?q=100%25')).body), ['Alpha 100% Steel']);
  t.deepEqual(names((await get('/api/products?q=Beta_')).body), ['Beta_Diver']);
  t.is((await get('/api/products?q=%25')).body.total, 1);
  t.is((await get('/api/products?q=_')).body.total, 1);
});

test('when min_price and max_price are given in major units, then the range is inclusive', async (t) => {
  const res = await get('/api/products?min_price=100&max_price=300&sort=price');
  t.deepEqual(names(res.body), ['Alpha 100% Steel', 'Beta_Diver', 'Zeta Betax Diver']);
  t.is(res.body.total, 3);
  t.deepEqual(names((await get('/api/products?min_price=250.5&max_price=250.5')).body), ['Beta_Diver']);
  t.deepEqual(names((await get('/api/products?max_price=75.24')).body), []);
});

test('when in_stock is true or false, then only products with or without stock are listed', async (t) => {
  const inStock = await get('/api/products?in_stock=true&sort=name');
  t.deepEqual(names(inStock.body), ['Alpha 100% Steel', 'Gamma Pilot', 'Omega 1000 Chrono', 'Zeta Betax Diver']);
  t.true(inStock.body.items.every((p: { in_stock: boolean }) => p.in_stock));
  t.deepEqual(names((await get('/api/products?in_stock=false')).body), ['Beta_Diver']);
});

test('when each sort is asked for, then the items come in that order', async (t) => {
  t.deepEqual(names((await get('/api/products?sort=price')).body), ['Gamma Pilot', 'Alpha 100% Steel', 'Beta_Diver', 'Zeta Betax Diver', 'Omega 1000 Chrono']);
  t.deepEqual(names((await get('/api/products?sort=-price')).body), ['Omega 1000 Chrono', 'Zeta Betax Diver', 'Beta_Diver', 'Alpha 100% Steel', 'Gamma Pilot']);
  const byName = ['Alpha 100% Steel', 'Beta_Diver', 'Gamma Pilot', 'Omega 1000 Chrono', 'Zeta Betax Diver'];
  t.deepEqual(names((await get('/api/products?sort=name')).body), byName);
  t.deepEqual(names((await get('/api/products?sort=-name')).body), [...byName].reverse());
  t.deepEqual(names((await get('/api/products?sort=newest')).body), names((await get('/api/products')).body));
});

test('when limit and offset page through, then the total counts every match and the pages do not overlap', async (t) => {
  const first = await get('/api/products?sort=price&limit=2');
  const second = await get('/api/products?sort=price&limit=2&offset=2');
  const last = await get('/api/products?sort=price&limit=2&offset=4');
  const beyond = await get('/api/products?sort=price&limit=2&offset=10');
  t.deepEqual(names(first.body), ['Gamma Pilot', 'Alpha 100% Steel']);
  t.deepEqual(names(second.body), ['Beta_Diver', 'Zeta Betax Diver']);
  t.deepEqual(names(last.body), ['Omega 1000 Chrono']);
  t.deepEqual(beyond.body.items, []);
  for (const page of [first, second, last, beyond]) t.is(page.body.total, 5);
  t.like(second.body, { limit: 2, offset: 2 });
  // Filters and paging together: the total is the filtered count.
  const filtered = await get('/api/products?in_stock=true&limit=1&offset=1&sort=price');
  t.like(filtered.body, { total: 4, limit: 1, offset: 1 });
  t.deepEqual(names(filtered.body), ['Alpha 100% Steel']);
});

test('when the query is invalid, then the answer is 400 VALIDATION_FAILED naming each bad parameter', async (t) => {
  const cases: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=ten', 'limit'],
    ['offset=-1', 'offset'],
    ['min_price=cheap', 'min_price'],
    ['max_price=-5', 'max_price'],
    ['sort=cheapest', 'sort'],
    ['in_stock=maybe', 'in_stock'],
    ['q=a&q=b', 'q'],
    [`q=${'x'.repeat(201)}`, 'q'],
  ];
  for (const [query, path] of cases) {
    const res = await get(`/api/products?${query}`);
    t.is(res.status, 400, query);
    t.is(res.body.error.code, 'VALIDATION_FAILED', query);
    t.true(
      res.body.error.details.some((d: { path: string; message: string }) => d.path === path && d.message.length > 0),
      `${query}: ${JSON.stringify(res.body.error.details)}`,
    );
  }
  const two = await get('/api/products?limit=0&sort=x');
  t.deepEqual(two.body.error.details.map((d: { path: string }) => d.path).sort(), ['limit', 'sort']);
});

test('when query parameters are sent empty (?q=&min_price=&sort=&limit=…), then they mean "not given"', async (t) => {
  const plain = await get('/api/products');
  const empty = await get('/api/products?q=&min_price=&max_price=&in_stock=&sort=&limit=&offset=');
  t.is(empty.status, 200, empty.text);
  t.like(empty.body, { total: 5, limit: 20, offset: 0 });
  t.deepEqual(names(empty.body), names(plain.body));
  // Empty ones next to given ones: only the given ones count.
  const mixed = await get('/api/products?q=&sort=price&limit=&min_price=100&max_price=');
  t.is(mixed.status, 200, mixed.text);
  t.deepEqual(names(mixed.body), ['Alpha 100% Steel', 'Beta_Diver', 'Zeta Betax Diver', 'Omega 1000 Chrono']);
  t.is(mixed.body.limit, 20);
});

test('when min_price or max_price is not an amount with at most two decimals, then 400 VALIDATION_FAILED; two decimals are exact', async (t) => {
  for (const query of ['min_price=10.005', 'max_price=250.501', 'min_price=1e3', 'max_price=100000000', 'min_price=0x10']) {
    const res = await get(`/api/products?${query}`);
    t.is(res.status, 400, query);
    t.is(res.body.error.code, 'VALIDATION_FAILED', query);
    const param = query.split('=')[0];
    t.true(
      res.body.error.details.some((d: { path: string }) => d.path === param),
      `${query}: ${JSON.stringify(res.body.error.details)}`,
    );
  }
  // 250.50 as cents, not as a float: the bound meets the price exactly from both sides.
  t.deepEqual(names((await get('/api/products?min_price=250.50&max_price=250.50')).body), ['Beta_Diver']);
  t.deepEqual(names((await get('/api/products?min_price=250.51&max_price=299.99')).body), []);
  t.deepEqual(names((await get('/api/products?min_price=75.25&max_price=75.25')).body), ['Gamma Pilot']);
});

test('when low_stock (a CLI-only filter) is sent, then the listing ignores it', async (t) => {
  const res = await get('/api/products?low_stock=0');
  t.is(res.status, 200);
  t.is(res.body.total, 5);
});

test('when If-None-Match carries the current ETag, then the answer is 304 without a body', async (t) => {
  const first = await get('/api/products?sort=name');
  const etag = first.headers.get('etag')!;
  t.regex(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  t.is((await get('/api/products?sort=name')).headers.get('etag'), etag, 'the same answer has the same ETag');

  const again = await get('/api/products?sort=name', { 'if-none-match': etag });
  t.is(again.status, 304);
  t.is(again.text, '');
  t.is(again.headers.get('etag'), etag);
  t.is(again.headers.get('cache-control'), 'no-cache');
  t.is((await get('/api/products?sort=name', { 'if-none-match': `"other", W/${etag}` })).status, 304, 'weak comparison within a list');
  t.is((await get('/api/products?sort=name', { 'if-none-match': '*' })).status, 304);

  const stale = await get('/api/products?sort=name', { 'if-none-match': '"not-it"' });
  t.is(stale.status, 200);
  t.is(stale.body.total, 5);
  const otherQuery = await get('/api/products?sort=price', { 'if-none-match': etag });
  t.is(otherQuery.status, 200, 'a different answer has a different ETag');
  t.not(otherQuery.headers.get('etag'), etag);
});

test.serial('when a price or the stock changes, then the ETag and the body change so no client keeps the old one', async (t) => {
  // Serial (ava runs serial tests before the concurrent ones), and it puts the product back.
  const path = `/api/products?q=${encodeURIComponent('gamma pilot')}`;
  const before = await get(path);
  const etag1 = before.headers.get('etag')!;
  t.is(before.body.items[0].price_cents, 7525);

  await updateProduct(app.t.db, ids.gamma, { price: '79.99' });
  const afterPrice = await get(path, { 'if-none-match': etag1 });
  t.is(afterPrice.status, 200);
  t.is(afterPrice.body.items[0].price_cents, 7999);
  t.is(afterPrice.body.items[0].price, 79.99);
  const etag2 = afterPrice.headers.get('etag')!;
  t.not(etag2, etag1);

  await changeStock(app.t.db, ids.gamma, '+4');
  const afterStock = await get(path, { 'if-none-match': etag2 });
  t.is(afterStock.status, 200);
  t.is(afterStock.body.items[0].stock, 7);
  t.not(afterStock.headers.get('etag'), etag2);

  // Put it back: the ETag is a function of the body alone, so it returns to the first one.
  await updateProduct(app.t.db, ids.gamma, { price: '75.25' });
  await changeStock(app.t.db, ids.gamma, '3');
  const restored = await get(path, { 'if-none-match': etag1 });
  t.is(restored.status, 304);
});

test('when a product is fetched by id, then it is the product object with an ETag', async (t) => {
  const res = await get(`/api/products/${ids.alpha}`);
  t.is(res.status, 200);
  t.like(res.body, { id: ids.alpha, name: 'Alpha 100% Steel', price: 100, price_cents: 10000, stock: 5, in_stock: true, currency: 'usd' });
  const etag = res.headers.get('etag')!;
  t.truthy(etag);
  t.is((await get(`/api/products/${ids.alpha}`, { 'if-none-match': etag })).status, 304);
});

test('when the product id is unknown or not a positive integer, then the answer is 404 NOT_FOUND', async (t) => {
  for (const id of ['999999', '0', '-1', 'abc', '1.5', '1e1', '0x1', `0${ids.alpha}`, '99999999999', '2147483648', '%20', `${ids.alpha}%00`]) {
    const res = await get(`/api/products/${id}`);
    t.is(res.status, 404, id);
    t.is(res.body.error.code, 'NOT_FOUND', id);
    t.is(typeof res.body.error.message, 'string');
  }
});
