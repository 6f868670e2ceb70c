/**
 * Outgoing webhooks end to end (docs/api.md, "Outgoing webhooks"), on SQLite or MariaDB: an
 * order's move queues one outbox row per active endpoint subscribed to the event, in the move's
 * transaction; the worker (deliverBatch with the transports of createTransports) POSTs it, signed,
 * to a real HTTP receiver in this process, which checks the signature with the documented recipe
 * (below, word for word as docs/api.md has it); failures are retried and every attempt is in the
 * endpoint's delivery log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { cliActor } from '../../src/auth/permissions.js';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/connection.js';
import { markPaid, markStatus } from '../../src/orders/orders.service.js';
import { createTransports, type Transports } from '../../src/outbox/deliverers.js';
import { type Deliverers, deliverBatch, type WorkerSettings } from '../../src/outbox/worker.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { webhookDeliverer } from '../../src/webhooks/deliver.js';
import { createWebhookEndpoint, listWebhookDeliveries, removeWebhookEndpoint } from '../../src/webhooks/webhooks.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// ---- The recipe of docs/api.md, "Verifying the signature", exactly as written there. ----
import { createHmac, timingSafeEqual } from 'node:crypto';

/** True when `body` (the raw request body) was signed with `secret` within `toleranceSeconds`. */
function verifyWatchstoreSignature(header: string, body: string, secret: string, toleranceSeconds = 300): boolean {
  const fields = Object.fromEntries(header.split(',').map((part) => part.trim().split('=', 2)));
  const t = Number(fields.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  const given = String(fields.v1 ?? '');
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
// ---- End of the recipe. ----

let t0: TestDatabase;
let db: Db;
let transports: Transports;
const receivers: WebhookReceiver[] = [];
const mailDir = mkdtempSync(path.join(os.tmpdir(), 'ws-webhooks-mail-'));
const admin = cliActor('webhook-test');

// Retries come due within milliseconds here; the worker's rules are the configured ones otherwise.
const settings: WorkerSettings = { pollMs: 20, leaseMs: 60_000, batchSize: 20, maxAttempts: 5, retryBaseMs: 10, retryMaxMs: 20 };

test.before(async () => {
  t0 = await createTestDatabase();
  db = t0.db;
  // The order e-mails queued beside the webhooks go to .eml files in a temporary directory.
  transports = createTransports(loadConfig({ ...process.env, DATABASE_URL: t0.url, MAIL_DIR: mailDir, WEBHOOK_TIMEOUT_MS: '5000' }), db);
});
test.after.always(async () => {
  transports?.close();
  await Promise.all(receivers.map((r) => r.stop()));
  await t0?.drop();
  rmSync(mailDir, { recursive: true, force: true });
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** Each test starts with no active endpoint (the ones before it are removed). */
async function noEndpoints(): Promise<void> {
  for (const e of await db('webhook_endpoints').whereNull('removed_at').select('id')) await removeWebhookEndpoint(db, admin, Number(e.id));
}

const webhookRows = (orderId: number) => db('outbox').where('kind', 'webhook').andWhere('message_key', 'like', `order-${orderId}.%`).orderBy('id');

/** Runs the worker's batches until no webhook row is due or waiting for a retry (with a deadline). */
async function drain(deliverers: Deliverers = transports.deliverers, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await deliverBatch(db, deliverers, settings);
    const left = await db('outbox').where({ kind: 'webhook', status: 'pending' }).count({ n: '*' }).first();
    if (Number(left?.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`webhook rows still pending after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function paidOrder(label: string): Promise<number> {
  const placed = await placePendingOrder(db, { label, price: '120.00', stock: 5, quantity: 2 });
  await markPaid(db, placed.order.id);
  return placed.order.id;
}

test.serial(
  'when an order is paid, then each active endpoint subscribed to order.paid gets one POST whose signature verifies with the documented recipe',
  async (t) => {
    await noEndpoints();
    const [all, shippedOnly, removed] = [await receiver(), await receiver(), await receiver()];
    const a = await createWebhookEndpoint(db, admin, { url: all.url, description: 'fulfilment' });
    const b = await createWebhookEndpoint(db, admin, { url: shippedOnly.url, events: ['order.shipped'] });
    const c = await createWebhookEndpoint(db, admin, { url: removed.url });
    await removeWebhookEndpoint(db, admin, c.id);

    const orderId = await paidOrder('Hook');
    const rows = await webhookRows(orderId);
    t.deepEqual(
      rows.map((r) => [r.message_key, Number(r.endpoint_id), r.topic, r.recipient]),
      [[`order-${orderId}.paid.endpoint-${a.id}`, a.id, 'order.paid', all.url]],
    );

    await drain();
    t.is(all.received.length, 1);
    const hook = all.received[0];
    t.is(hook.method, 'POST');
    t.is(hook.path, '/hooks/watchstore');
    t.is(hook.headers['content-type'], 'application/json');
    t.is(hook.headers['watchstore-event'], 'order.paid');
    t.is(hook.headers['watchstore-delivery'], `order-${orderId}.paid.endpoint-${a.id}`);
    t.regex(String(hook.headers['user-agent']), /^Watchstore-Webhooks\//);
    const signature = String(hook.headers['watchstore-signature']);
    t.regex(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    t.true(verifyWatchstoreSignature(signature, hook.body, a.secret));
    t.false(verifyWatchstoreSignature(signature, hook.body, b.secret), 'another endpoint’s secret does not verify');
    t.false(verifyWatchstoreSignature(signature, hook.body.replace('"paid"', '"canceled"'), a.secret), 'a changed body does not verify');
    t.false(verifyWatchstoreSignature(signature, hook.body, a.secret, -1), 'outside the tolerance');

    const event = JSON.parse(hook.body);
    t.regex(event.id, /^evt_[0-9a-f]{24}$/);
    t.is(event.type, 'order.paid');
    t.true(Number.isInteger(event.created));
    t.like(event.data.order, { id: orderId, status: 'paid', total_cents: 24000, currency: 'usd' });
    t.is(event.data.order.items.length, 1);
    t.is(event.data.order.items[0].quantity, 2);
    t.truthy(event.data.order.email);

    // Neither the endpoint that only wants order.shipped nor the removed one had a row to send.
    t.is(shippedOnly.received.length, 0);
    t.is(removed.received.length, 0);
    const log = await listWebhookDeliveries(db, a.id, { limit: 10, offset: 0 });
    t.is(log.total, 1);
    t.like(log.items[0], {
      endpoint_id: a.id,
      event: 'order.paid',
      attempt: 1,
      status_code: 200,
      ok: true,
      error: null,
      delivery_id: `order-${orderId}.paid.endpoint-${a.id}`,
    });
    t.is((await db('outbox').where('id', rows[0].id).first()).status, 'sent');

    // Shipped: both subscribed endpoints get it, with the same event body (one event id).
    await markStatus(db, orderId, 'shipped');
    t.deepEqual(
      (await webhookRows(orderId)).filter((r) => r.topic === 'order.shipped').map((r) => Number(r.endpoint_id)),
      [a.id, b.id],
    );
    await drain();
    t.is(all.received.length, 2);
    t.is(shippedOnly.received.length, 1);
    t.is(all.received[1].body, shippedOnly.received[0].body);
    t.true(verifyWatchstoreSignature(String(shippedOnly.received[0].headers['watchstore-signature']), shippedOnly.received[0].body, b.secret));
    t.like(JSON.parse(shippedOnly.received[0].body), { type: 'order.shipped', data: { order: { id: orderId, status: 'shipped' } } });
  },
);

test.serial('when a move rolls back, then no webhook is queued', async (t) => {
  await noEndpoints();
  await createWebhookEndpoint(db, admin, { url: (await receiver()).url });
  const placed = await placePendingOrder(db, { label: 'Rollback', price: '10.00', stock: 2, quantity: 1 });
  await t.throwsAsync(
    db.transaction(async (trx) => {
      t.true(await markPaid(trx, placed.order.id));
      throw new Error('the change failed');
    }),
    { message: 'the change failed' },
  );
  t.deepEqual(await webhookRows(placed.order.id), []);
});

test.serial('when the receiver answers 500 and then 200, then the webhook is retried and delivered, and the log shows both attempts', async (t) => {
  await noEndpoints();
  const flaky = await receiver();
  flaky.answer(500, 200);
  const e = await createWebhookEndpoint(db, admin, { url: flaky.url, events: ['order.paid'] });
  const orderId = await paidOrder('Flaky');

  await drain();
  t.is(flaky.received.length, 2);
  const [first, second] = flaky.received;
  t.is(first.body, second.body, 'a retry sends the same body');
  t.is(first.headers['watchstore-delivery'], second.headers['watchstore-delivery']);
  for (const hook of flaky.received) t.true(verifyWatchstoreSignature(String(hook.headers['watchstore-signature']), hook.body, e.secret));

  const row = (await webhookRows(orderId))[0];
  t.is(row.status, 'sent');
  t.is(Number(row.attempts), 2);
  const log = await listWebhookDeliveries(db, e.id, { limit: 10, offset: 0 });
  t.is(log.total, 2);
  t.like(log.items[0], { attempt: 2, status_code: 200, ok: true, error: null });
  t.like(log.items[1], { attempt: 1, status_code: 500, ok: false, error: 'HTTP 500' });
  t.true(log.items[0].id > log.items[1].id, 'newest first');
  // Paging.
  const page2 = await listWebhookDeliveries(db, e.id, { limit: 1, offset: 1 });
  t.deepEqual(
    page2.items.map((d) => d.attempt),
    [1],
  );
});

test.serial(
  'when the receiver redirects, does not answer in time, or is not there, then each attempt fails, is logged, and the row waits for a retry',
  async (t) => {
    await noEndpoints();
    const redirecting = await receiver();
    const silent = await receiver();
    redirecting.answer({ status: 302, headers: { location: '/elsewhere' } });
    silent.answer('hang');
    // A port nobody listens on: listen, note it, close.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hooks`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const r = await createWebhookEndpoint(db, admin, { url: redirecting.url });
    const s = await createWebhookEndpoint(db, admin, { url: silent.url });
    const c = await createWebhookEndpoint(db, admin, { url: closedUrl });
    const orderId = await paidOrder('Fail');

    const deliverers: Deliverers = { ...transports.deliverers, webhook: webhookDeliverer(db, { timeoutMs: 300 }) };
    await deliverBatch(db, deliverers, settings);
    // The redirect was not followed: the one request it answered is all that arrived.
    t.is(redirecting.received.length, 1);
    t.is(silent.received.length, 1);

    const lastOf = async (id: number) => (await listWebhookDeliveries(db, id, { limit: 1, offset: 0 })).items[0];
    t.like(await lastOf(r.id), { ok: false, status_code: 302, error: 'HTTP 302 (redirects are not followed)' });
    t.like(await lastOf(s.id), { ok: false, status_code: null, error: 'no answer within 300 ms' });
    const refused = await lastOf(c.id);
    t.like(refused, { ok: false, status_code: null });
    t.regex(String(refused.error), /ECONNREFUSED/);

    for (const row of await webhookRows(orderId)) {
      t.is(row.status, 'pending');
      t.is(Number(row.attempts), 1);
      t.truthy(row.last_error);
    }
    // Clean up for the tests after: these endpoints go, their rows go dead unsent.
    await noEndpoints();
    await drain(deliverers);
    t.deepEqual(
      (await webhookRows(orderId)).map((row) => row.status),
      ['dead', 'dead', 'dead'],
    );
  },
);

test.serial('when an endpoint is removed after its webhook was queued, then the row goes dead at once, unsent, and the log says why', async (t) => {
  await noEndpoints();
  const late = await receiver();
  const e = await createWebhookEndpoint(db, admin, { url: late.url });
  const orderId = await paidOrder('Late');
  await removeWebhookEndpoint(db, admin, e.id);

  await deliverBatch(db, transports.deliverers, settings);
  t.is(late.received.length, 0);
  const [row] = await webhookRows(orderId);
  t.is(row.status, 'dead');
  t.is(Number(row.attempts), 1);
  t.is(row.last_error, `endpoint ${e.id} was removed: not sent`);
  const log = await listWebhookDeliveries(db, e.id, { limit: 10, offset: 0 });
  t.like(log.items[0], { ok: false, status_code: null, error: `endpoint ${e.id} was removed: not sent` });
});

test('the recipe in this file is the one docs/api.md shows, word for word', (t) => {
  const docs = readFileSync(path.join(PROJECT_ROOT, 'docs', 'api.md'), 'utf8');
  const section = docs.slice(docs.indexOf('### Verifying the signature'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  t.truthy(snippet);
  const self = readFileSync(path.join(PROJECT_ROOT, 'test', 'integration', 'webhooks-delivery.test.ts'), 'utf8');
  t.true(self.includes(snippet!), 'copy the snippet of docs/api.md into this file again');
});
