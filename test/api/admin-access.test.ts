/**
 * Every admin route over real HTTP (SQLite, or MariaDB with TEST_DB=mysql) as admin, staff,
 * customer and anonymous: admins may do everything, staff the catalog and orders but not users,
 * the audit log or the outgoing webhooks (403), customers nothing (403), anonymous callers nothing
 * (401). A refused call writes no audit row. Every admin route is in the OpenAPI document with its permission.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import type { Db } from '../../src/db/connection.js';
import { markPaid } from '../../src/orders/orders.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { placePendingOrder } from '../helpers/orders.js';
import { createProduct } from '../helpers/services.js';
import { signedInAs } from '../helpers/staff.js';
import { cliActor } from '../../src/auth/permissions.js';
import { createWebhookEndpoint } from '../../src/webhooks/webhooks.service.js';

let app: TestApp;
let db: Db;
let png: Buffer;
const imagesDir = mkdtempSync(path.join(os.tmpdir(), 'ws-access-images-'));

test.before(async () => {
  app = await startApp({ env: { IMAGES_DIR: imagesDir } });
  db = app.t.db;
  png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } })
    .png()
    .toBuffer();
});
test.after.always(async () => {
  await app?.close();
  rmSync(imagesDir, { recursive: true, force: true });
});

const run = randomBytes(3).toString('hex');
let seq = 0;

interface Fixture {
  product: number;
  doomed: number;
  paid: number;
  pending: number;
  user: number;
  webhook: number;
}

async function fixture(): Promise<Fixture> {
  const product = (await createProduct(db, { name: `Access ${run} ${++seq}`, price: '10.00', stock: 5 })).id;
  const doomed = (await createProduct(db, { name: `Access ${run} ${++seq}`, price: '10.00', stock: 5 })).id;
  const paid = await placePendingOrder(db, { label: 'Paid', price: '20.00', stock: 3, quantity: 1 });
  await markPaid(db, paid.order.id);
  const pending = await placePendingOrder(db, { label: 'Pend', price: '20.00', stock: 3, quantity: 1 });
  const webhook = (await createWebhookEndpoint(db, cliActor('access-test'), { url: `https://erp.example.com/access-${run}-${++seq}` })).id;
  return { product, doomed, paid: paid.order.id, pending: pending.order.id, user: paid.userId, webhook };
}

interface Call {
  method: string;
  path: (f: Fixture) => string;
  json?: unknown;
  /** Sent as multipart/form-data with a small PNG in the form field `image`. */
  image?: true;
  /** What an admin gets; staff get the same unless `staff` says 403. */
  ok: number;
  staff?: 403;
}

/** In the order an admin can run them (ship before deliver, delete last). */
const CALLS: Call[] = [
  { method: 'GET', path: () => '/api/admin/products?low_stock=10', ok: 200 },
  { method: 'POST', path: () => '/api/admin/products', json: { name: `New ${run}`, price: '12.50', stock: 2 }, ok: 201 },
  { method: 'GET', path: (f) => `/api/admin/products/${f.product}`, ok: 200 },
  { method: 'PATCH', path: (f) => `/api/admin/products/${f.product}`, json: { price_cents: 1299 }, ok: 200 },
  { method: 'POST', path: (f) => `/api/admin/products/${f.product}/stock`, json: { delta: 3 }, ok: 200 },
  { method: 'POST', path: (f) => `/api/admin/products/${f.product}/image`, image: true, ok: 200 },
  { method: 'DELETE', path: (f) => `/api/admin/products/${f.doomed}`, ok: 200 },
  { method: 'GET', path: () => '/api/admin/orders?status=paid', ok: 200 },
  { method: 'GET', path: (f) => `/api/admin/orders/${f.paid}`, ok: 200 },
  { method: 'POST', path: (f) => `/api/admin/orders/${f.paid}/ship`, json: { tracking_number: 'TRK1', carrier: 'DHL' }, ok: 200 },
  { method: 'POST', path: (f) => `/api/admin/orders/${f.paid}/deliver`, ok: 200 },
  { method: 'POST', path: (f) => `/api/admin/orders/${f.pending}/cancel`, ok: 200 },
  // Past the permission check: this order was paid without a PaymentIntent (no Stripe here), so
  // there is nothing to refund (test/api/admin-refunds.test.ts refunds through the fake Stripe).
  { method: 'POST', path: (f) => `/api/admin/orders/${f.paid}/refund`, json: { amount: 100 }, ok: 409 },
  { method: 'GET', path: () => '/api/admin/users?q=paid', ok: 200, staff: 403 },
  { method: 'GET', path: (f) => `/api/admin/users/${f.user}`, ok: 200, staff: 403 },
  { method: 'PATCH', path: (f) => `/api/admin/users/${f.user}`, json: { role: 'staff' }, ok: 200, staff: 403 },
  { method: 'GET', path: () => '/api/admin/audit', ok: 200, staff: 403 },
  { method: 'GET', path: () => '/api/admin/webhooks', ok: 200, staff: 403 },
  { method: 'POST', path: () => '/api/admin/webhooks', json: { url: `https://erp.example.com/new-${run}` }, ok: 201, staff: 403 },
  { method: 'GET', path: (f) => `/api/admin/webhooks/${f.webhook}/deliveries`, ok: 200, staff: 403 },
  { method: 'DELETE', path: (f) => `/api/admin/webhooks/${f.webhook}`, ok: 200, staff: 403 },
];

async function call(c: Call, f: Fixture, auth: Record<string, string>) {
  if (c.image) {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'watch.png');
    const res = await fetch(app.url + c.path(f), { method: c.method, body: form, headers: auth });
    return { status: res.status, body: await res.json(), text: '' };
  }
  return app.client().request(c.method, c.path(f), { json: c.json, headers: auth });
}

const auditCount = async () => Number((await db('audit_log').count({ n: '*' }))[0].n);

for (const role of ['admin', 'staff'] as const) {
  test.serial(`when a${role === 'admin' ? 'n' : ''} ${role} calls every admin route, then each answers as the role allows`, async (t) => {
    const who = await signedInAs(db, app.config.accessTokenSecret, role);
    const f = await fixture();
    for (const c of CALLS) {
      const res = await call(c, f, who.auth);
      const expected = role === 'staff' && c.staff ? c.staff : c.ok;
      t.is(res.status, expected, `${role} ${c.method} ${c.path(f)}: ${res.text}`);
      if (res.status === 403) t.is(res.body.error.code, 'FORBIDDEN');
    }
  });
}

for (const who of ['customer', 'anonymous'] as const) {
  test.serial(
    `when ${who === 'customer' ? 'a customer' : 'an anonymous caller'} calls every admin route, then each is ${who === 'customer' ? '403' : '401'} and nothing is written`,
    async (t) => {
      const auth = who === 'customer' ? (await signedInAs(db, app.config.accessTokenSecret, 'customer')).auth : {};
      const f = await fixture();
      const before = await auditCount();
      for (const c of CALLS) {
        const res = await call(c, f, auth);
        t.is(res.status, who === 'customer' ? 403 : 401, `${c.method} ${c.path(f)}: ${res.text}`);
        t.is(res.body.error.code, who === 'customer' ? 'FORBIDDEN' : 'UNAUTHENTICATED');
      }
      t.is(await auditCount(), before);
      const order = await db('orders').where('id', f.paid).first();
      t.is(order.status, 'paid');
      t.truthy(await db('products').where('id', f.doomed).first());
    },
  );
}

test('every admin route is in the OpenAPI document with its permission and the error shape', async (t) => {
  const doc = (await app.client().get('/api/openapi.json')).body;
  const admin = Object.entries(doc.paths as Record<string, Record<string, any>>).filter(([p]) => p.startsWith('/api/admin/'));
  const ops = admin.flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, op })));
  t.is(ops.length, CALLS.length);
  for (const { key, op } of ops) {
    t.truthy(op['x-permission'], key);
    t.truthy(op.responses['401'], key);
    t.truthy(op.responses['403'], key);
    t.truthy(op.security, key);
  }
});
