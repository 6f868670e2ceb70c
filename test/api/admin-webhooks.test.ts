/**
 * The outgoing webhook endpoints over the real admin API (docs/api.md, "Outgoing webhooks"), on
 * SQLite or MariaDB: create (the secret shown once), list, remove, the delivery log; bad input is
 * 400, a URL already registered 409; admin only (staff and customers 403, anonymous 401, nothing
 * written); each change audited without the secret; an order shipped through the API queues its
 * webhook.
 */
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { markPaid } from '../../src/orders/orders.service.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { placePendingOrder } from '../helpers/orders.js';
import { type SignedIn, signedInAs } from '../helpers/staff.js';

let app: TestApp;
let db: Db;
let admin: SignedIn;

test.before(async () => {
  app = await startApp();
  db = app.t.db;
  admin = await signedInAs(db, app.config.accessTokenSecret, 'admin');
});
test.after.always(async () => {
  await app?.close();
});

const send = (method: string, path: string, json?: unknown, auth: Record<string, string> = admin.auth) =>
  app.client().request(method, path, { json, headers: auth });
const ALL = ['order.paid', 'order.shipped', 'order.canceled', 'order.refunded'];
let port = 9000;
const nextUrl = () => `https://erp.example.com:${++port}/hooks/watchstore`;

test.serial('when an admin creates, lists and removes an endpoint, then the secret is shown once and each change has its audit row', async (t) => {
  const url = nextUrl();
  const created = await send('POST', '/api/admin/webhooks', { url, description: 'Accounting' });
  t.is(created.status, 201, created.text);
  const e = created.body;
  t.like(e, { url, events: ALL, description: 'Accounting', removed_at: null });
  t.regex(e.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  t.truthy(e.created_at);

  const subset = await send('POST', '/api/admin/webhooks', { url: nextUrl(), events: ['order.refunded', 'order.paid', 'order.paid'] });
  t.is(subset.status, 201, subset.text);
  t.deepEqual(subset.body.events, ['order.paid', 'order.refunded']);
  t.not(subset.body.secret, e.secret);

  const list = await send('GET', '/api/admin/webhooks');
  t.is(list.status, 200);
  const listed = list.body.items.find((x: { id: number }) => x.id === e.id);
  t.like(listed, { url, events: ALL, description: 'Accounting' });
  t.false('secret' in listed, 'a list never shows the secret');
  t.false(list.text.includes(e.secret));

  const removed = await send('DELETE', `/api/admin/webhooks/${e.id}`);
  t.is(removed.status, 200, removed.text);
  t.truthy(removed.body.removed_at);
  t.false('secret' in removed.body);
  const again = await send('DELETE', `/api/admin/webhooks/${e.id}`);
  t.is(again.status, 404);
  t.is(again.body.error.code, 'NOT_FOUND');

  const active = await send('GET', '/api/admin/webhooks');
  t.false(active.body.items.some((x: { id: number }) => x.id === e.id));
  const withRemoved = await send('GET', '/api/admin/webhooks?removed=true&limit=100');
  t.truthy(withRemoved.body.items.find((x: { id: number; removed_at: string | null }) => x.id === e.id && x.removed_at));
  // The removed endpoint's log stays readable.
  const log = await send('GET', `/api/admin/webhooks/${e.id}/deliveries`);
  t.is(log.status, 200);
  t.deepEqual(log.body, { items: [], total: 0, limit: 20, offset: 0 });

  const audit = await db('audit_log')
    .where({ target_type: 'webhook', target_id: String(e.id) })
    .orderBy('id');
  t.deepEqual(
    audit.map((r) => [r.action, r.actor]),
    [
      ['webhook.create', String(admin.id)],
      ['webhook.remove', String(admin.id)],
    ],
  );
  t.deepEqual(JSON.parse(audit[0].after), { url, events: ALL, description: 'Accounting' });
  t.is(audit[0].request_id, created.headers.get('x-request-id'));
  t.false(
    audit.some((r) => `${r.before}${r.after}`.includes(e.secret)),
    'the audit log never holds the secret',
  );
});

const BAD: [string, unknown][] = [
  ['another scheme', { url: 'ftp://erp.example.com/hooks' }],
  ['not a URL', { url: 'erp.example.com/hooks' }],
  ['a javascript: URL', { url: 'javascript:alert(1)' }],
  ['credentials in the URL', { url: 'https://user:pass@erp.example.com/hooks' }],
  ['a fragment', { url: 'https://erp.example.com/hooks#x' }],
  ['the cloud metadata address', { url: 'http://169.254.169.254/latest/meta-data/' }],
  ['it written in hex', { url: 'http://0xa9fea9fe/latest/meta-data/' }],
  ['an IPv6 link-local address', { url: 'http://[fe80::1]/hooks' }],
  ['an IPv4-mapped metadata address', { url: 'http://[::ffff:169.254.169.254]/hooks' }],
  ['the unspecified address', { url: 'http://0.0.0.0:8080/hooks' }],
  ['a URL too long', { url: `https://erp.example.com/${'a'.repeat(2000)}` }],
  ['no URL', { events: ['order.paid'] }],
  ['a URL that is not text', { url: 42 }],
  ['an unknown event', { url: 'https://erp.example.com/a', events: ['order.placed'] }],
  ['no event', { url: 'https://erp.example.com/a', events: [] }],
  ['events not a list', { url: 'https://erp.example.com/a', events: 'order.paid' }],
  ['a description too long', { url: 'https://erp.example.com/a', description: 'x'.repeat(201) }],
  ['an unknown field', { url: 'https://erp.example.com/a', secret: 'whsec_mine' }],
];

test.serial('when an endpoint is created with a bad URL, events or description, then it is 400 VALIDATION_FAILED and nothing is stored', async (t) => {
  const before = Number((await db('webhook_endpoints').count({ n: '*' }))[0].n);
  for (const [what, body] of BAD) {
    const res = await send('POST', '/api/admin/webhooks', body);
    t.is(res.status, 400, `${what}: ${res.text}`);
    t.is(res.body.error.code, 'VALIDATION_FAILED', what);
    t.true(Array.isArray(res.body.error.details), what);
  }
  t.is(Number((await db('webhook_endpoints').count({ n: '*' }))[0].n), before);
});

test('when a URL an active endpoint has is registered again, then it is 409 CONFLICT; once removed, it may be', async (t) => {
  const url = nextUrl();
  const first = await send('POST', '/api/admin/webhooks', { url });
  t.is(first.status, 201);
  const second = await send('POST', '/api/admin/webhooks', { url, events: ['order.paid'] });
  t.is(second.status, 409);
  t.is(second.body.error.code, 'CONFLICT');
  t.is((await send('DELETE', `/api/admin/webhooks/${first.body.id}`)).status, 200);
  t.is((await send('POST', '/api/admin/webhooks', { url })).status, 201);
});

test('when an unknown or malformed id is named, then it is 404', async (t) => {
  for (const path of ['/api/admin/webhooks/999999/deliveries', '/api/admin/webhooks/abc/deliveries', '/api/admin/webhooks/0/deliveries']) {
    const res = await send('GET', path);
    t.is(res.status, 404, path);
    t.is(res.body.error.code, 'NOT_FOUND');
  }
  t.is((await send('DELETE', '/api/admin/webhooks/999999')).status, 404);
  t.is((await send('GET', '/api/admin/webhooks?limit=0')).status, 400);
  t.is((await send('GET', '/api/admin/webhooks?removed=maybe')).status, 400);
});

test.serial(
  'when staff, a customer or an anonymous caller calls the webhook routes, then each is refused (403, 403, 401) and nothing is written',
  async (t) => {
    const existing = (await send('POST', '/api/admin/webhooks', { url: nextUrl() })).body;
    const staff = await signedInAs(db, app.config.accessTokenSecret, 'staff');
    const customer = await signedInAs(db, app.config.accessTokenSecret, 'customer');
    const endpoints = Number((await db('webhook_endpoints').count({ n: '*' }))[0].n);
    const audits = Number((await db('audit_log').count({ n: '*' }))[0].n);
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/admin/webhooks'],
      ['POST', '/api/admin/webhooks', { url: nextUrl() }],
      ['DELETE', `/api/admin/webhooks/${existing.id}`],
      ['GET', `/api/admin/webhooks/${existing.id}/deliveries`],
    ];
    for (const [who, auth, status, code] of [
      ['staff', staff.auth, 403, 'FORBIDDEN'],
      ['customer', customer.auth, 403, 'FORBIDDEN'],
      ['anonymous', {}, 401, 'UNAUTHENTICATED'],
    ] as const) {
      for (const [method, path, json] of calls) {
        const res = await send(method, path, json, auth);
        t.is(res.status, status, `${who} ${method} ${path}: ${res.text}`);
        t.is(res.body.error.code, code);
        t.false(res.text.includes('whsec_'));
      }
    }
    t.is(Number((await db('webhook_endpoints').count({ n: '*' }))[0].n), endpoints);
    t.is(Number((await db('audit_log').count({ n: '*' }))[0].n), audits);
    t.is((await db('webhook_endpoints').where('id', existing.id).first()).removed_at, null);
  },
);

test.serial('when an order is shipped through the admin API, then its webhook is queued for the endpoints subscribed to order.shipped', async (t) => {
  const shipped = (await send('POST', '/api/admin/webhooks', { url: nextUrl(), events: ['order.shipped'] })).body;
  const paidOnly = (await send('POST', '/api/admin/webhooks', { url: nextUrl(), events: ['order.paid'] })).body;
  const placed = await placePendingOrder(db, { label: 'Api', price: '50.00', stock: 2, quantity: 1 });
  await markPaid(db, placed.order.id);
  const res = await send('POST', `/api/admin/orders/${placed.order.id}/ship`, { tracking_number: '1Z77', carrier: 'UPS' });
  t.is(res.status, 200, res.text);
  const rows = await db('outbox').where({ kind: 'webhook', topic: 'order.shipped' }).andWhere('message_key', 'like', `order-${placed.order.id}.%`);
  const mine = rows.filter((r) => [shipped.id, paidOnly.id].includes(Number(r.endpoint_id)));
  t.deepEqual(
    mine.map((r) => r.message_key),
    [`order-${placed.order.id}.shipped.endpoint-${shipped.id}`],
  );
  const body = JSON.parse(JSON.parse(mine[0].payload).body);
  t.like(body, { type: 'order.shipped', data: { order: { id: placed.order.id, status: 'shipped', tracking_number: '1Z77', carrier: 'UPS' } } });
});

test('every webhook route is in the OpenAPI document with the webhooks:manage permission', async (t) => {
  const doc = (await app.client().get('/api/openapi.json')).body;
  const ops = [
    ['get', '/api/admin/webhooks'],
    ['post', '/api/admin/webhooks'],
    ['delete', '/api/admin/webhooks/{id}'],
    ['get', '/api/admin/webhooks/{id}/deliveries'],
  ];
  for (const [method, path] of ops) {
    const op = doc.paths[path]?.[method];
    t.truthy(op, `${method} ${path}`);
    t.is(op['x-permission'], 'webhooks:manage');
    t.is(op.tags[0], 'Admin');
  }
  t.truthy(doc.paths['/api/admin/webhooks'].post.responses['201'].content['application/json'].schema);
});
