/**
 * Roles and accounts over the admin API, over real HTTP (SQLite, or MariaDB with TEST_DB=mysql):
 * the last admin rule, a role change or a disabled account taking effect at the next request, a
 * disabled user unable to sign in or refresh, and one audit row per change, none per refusal.
 */
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { signedInAs } from '../helpers/staff.js';

let app: TestApp;
let db: Db;

test.before(async () => {
  app = await startApp({ env: { RATE_LIMIT_SIGNIN_PER_IP: '100000', RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '100000', RATE_LIMIT_REFRESH_PER_IP: '100000' } });
  db = app.t.db;
});
test.after.always(async () => {
  await app?.close();
});

const as = (role: 'admin' | 'staff' | 'customer') => signedInAs(db, app.config.accessTokenSecret, role);
const auditOf = (targetId: number) =>
  db('audit_log')
    .where({ target_type: 'user', target_id: String(targetId) })
    .orderBy('id');

test.serial('when the only admin demotes or disables themself, then 409 and nothing changes; with a second admin it goes through', async (t) => {
  const ada = await as('admin');
  // Only ada is an enabled admin from here on (other tests' admins are made later or elsewhere).
  await db('users').where('role', 'admin').whereNot('id', ada.id).update({ role: 'customer' });
  const c = app.client();
  for (const body of [{ role: 'staff' }, { role: 'customer' }, { disabled: true }, { role: 'admin', disabled: true }]) {
    const res = await c.request('PATCH', `/api/admin/users/${ada.id}`, { json: body, headers: ada.auth });
    t.is(res.status, 409, JSON.stringify(body));
    t.is(res.body.error.code, 'CONFLICT');
  }
  t.deepEqual(await auditOf(ada.id), []);
  t.is((await db('users').where('id', ada.id).first()).role, 'admin');

  const bob = await as('customer');
  const promoted = await c.request('PATCH', `/api/admin/users/${bob.id}`, { json: { role: 'admin' }, headers: ada.auth });
  t.is(promoted.status, 200, promoted.text);
  t.is(promoted.body.role, 'admin');
  const demoted = await c.request('PATCH', `/api/admin/users/${ada.id}`, { json: { role: 'staff' }, headers: ada.auth });
  t.is(demoted.status, 200, demoted.text);
  const [row] = await auditOf(ada.id);
  t.is(row.action, 'user.role');
  t.is(row.actor, String(ada.id));
  t.deepEqual(JSON.parse(row.before), { role: 'admin' });
  t.deepEqual(JSON.parse(row.after), { role: 'staff' });
  t.truthy(row.request_id);
  t.is(row.request_id, demoted.headers.get('x-request-id'));
});

test.serial('when two admins demote each other at once, then at most one succeeds and an admin is left', async (t) => {
  const a = await as('admin');
  const b = await as('admin');
  await db('users').where('role', 'admin').whereNotIn('id', [a.id, b.id]).update({ role: 'customer' });
  const c = app.client();
  const [ra, rb] = await Promise.all([
    c.request('PATCH', `/api/admin/users/${b.id}`, { json: { role: 'customer' }, headers: a.auth }),
    c.request('PATCH', `/api/admin/users/${a.id}`, { json: { role: 'customer' }, headers: b.auth }),
  ]);
  const statuses = [ra.status, rb.status].sort();
  t.true(statuses[0] === 200 && statuses[1] !== 200, `${ra.status} ${ra.text} / ${rb.status} ${rb.text}`);
  t.is(Number((await db('users').where('role', 'admin').whereNull('disabled_at').count({ n: '*' }))[0].n), 1);
});

test('when an admin is demoted to customer, then their very next admin request is 403, though their token still says admin', async (t) => {
  const boss = await as('admin');
  const victim = await as('admin');
  const c = app.client();
  t.is((await c.get('/api/admin/users', victim.auth)).status, 200);
  t.is((await c.request('PATCH', `/api/admin/users/${victim.id}`, { json: { role: 'customer' }, headers: boss.auth })).status, 200);
  const after = await c.get('/api/admin/users', victim.auth);
  t.is(after.status, 403);
  t.is(after.body.error.code, 'FORBIDDEN');
  t.is((await c.get('/api/admin/products', victim.auth)).status, 403);
});

test('when an admin is demoted to staff, then the catalog stays open and users close at the next request', async (t) => {
  const boss = await as('admin');
  const victim = await as('admin');
  const c = app.client();
  t.is((await c.request('PATCH', `/api/admin/users/${victim.id}`, { json: { role: 'staff' }, headers: boss.auth })).status, 200);
  t.is((await c.get('/api/admin/products', victim.auth)).status, 200);
  t.is((await c.get('/api/admin/users', victim.auth)).status, 403);
  t.is((await c.get('/api/admin/audit', victim.auth)).status, 403);
});

test('when a user is disabled, then they cannot sign in, their refresh fails, admin routes are 401, and enabling lets them back', async (t) => {
  const boss = await as('admin');
  const staff = await as('staff');
  const browser = app.client();
  const signin = await browser.post('/api/auth/signin', { login: staff.username, password: staff.password });
  t.is(signin.status, 200, signin.text);
  const c = app.client();

  const disabled = await c.request('PATCH', `/api/admin/users/${staff.id}`, { json: { disabled: true }, headers: boss.auth });
  t.is(disabled.status, 200, disabled.text);
  t.true(disabled.body.disabled);
  t.truthy(disabled.body.disabled_at);

  const again = await app.client().post('/api/auth/signin', { login: staff.username, password: staff.password });
  t.is(again.status, 403, again.text);
  t.is(again.body.error.code, 'FORBIDDEN');
  const wrong = await app.client().post('/api/auth/signin', { login: staff.username, password: 'wrong password 1' });
  t.is(wrong.status, 401);
  const refresh = await browser.post('/api/auth/refresh');
  t.is(refresh.status, 401, refresh.text);
  t.is((await browser.get('/api/admin/products')).status, 401);
  t.is((await c.get('/api/admin/products', staff.auth)).status, 401);
  t.is(Number((await db('refresh_tokens').where('user_id', staff.id).whereNull('revoked_at').count({ n: '*' }))[0].n), 0);

  const enabled = await c.request('PATCH', `/api/admin/users/${staff.id}`, { json: { disabled: false }, headers: boss.auth });
  t.is(enabled.status, 200);
  t.false(enabled.body.disabled);
  t.is((await app.client().post('/api/auth/signin', { login: staff.username, password: staff.password })).status, 200);
  t.deepEqual(
    (await auditOf(staff.id)).map((r) => [r.action, JSON.parse(r.before), JSON.parse(r.after)]),
    [
      ['user.disable', { disabled: false }, { disabled: true }],
      ['user.enable', { disabled: true }, { disabled: false }],
    ],
  );
});

test('users: list with search and paging, show with order count, 404 for an unknown id, 400 for a bad body', async (t) => {
  const boss = await as('admin');
  const c = app.client();
  const list = await c.get(`/api/admin/users?q=${boss.username}&limit=5`, boss.auth);
  t.is(list.status, 200);
  t.deepEqual(Object.keys(list.body).sort(), ['items', 'limit', 'offset', 'total']);
  t.is(list.body.total, 1);
  t.is(list.body.items[0].id, boss.id);
  const show = await c.get(`/api/admin/users/${boss.id}`, boss.auth);
  t.is(show.body.order_count, 0);
  t.false(show.body.disabled);
  t.is((await c.get('/api/admin/users/999999', boss.auth)).status, 404);
  t.is((await c.get('/api/admin/users/abc', boss.auth)).status, 404);
  const bad = await c.request('PATCH', `/api/admin/users/${boss.id}`, { json: { role: 'root' }, headers: boss.auth });
  t.is(bad.status, 400);
  t.is(bad.body.error.code, 'VALIDATION_FAILED');
  t.is((await c.request('PATCH', `/api/admin/users/${boss.id}`, { json: {}, headers: boss.auth })).status, 400);
});
