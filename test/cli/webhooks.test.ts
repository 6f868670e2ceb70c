/**
 * `watchstore webhooks add|list|remove|deliveries|secret` in-process (test/helpers/cli-in-process.ts)
 * against a real database: the same service as the admin API, each change audited as
 * `cli:<os user>`; bad input is one line and exit 2.
 */
import os from 'node:os';
import test from 'ava';
import { markPaid } from '../../src/orders/orders.service.js';
import { webhookDeliverer } from '../../src/webhooks/deliver.js';
import { deliverBatch } from '../../src/outbox/worker.js';
import { cliInProcess, lines } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { placePendingOrder } from '../helpers/orders.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let database: TestDatabase;
let cli: ReturnType<typeof cliInProcess>;
let receiver: WebhookReceiver;

test.before(async () => {
  database = await createTestDatabase();
  cli = cliInProcess(database);
  receiver = await startReceiver();
});
test.after.always(async () => {
  await receiver?.stop();
  await database?.drop();
});

const me = `cli:${os.userInfo().username}`;

test.serial('webhooks add prints the endpoint and its secret; list shows it without the secret; remove keeps its log; each change is audited', async (t) => {
  const added = await cli(['webhooks', 'add', receiver.url, '--events', 'order.shipped, order.paid', '--description', 'Fulfilment']);
  t.is(added.code, 0, added.stderr);
  const secret = /signing secret: (whsec_\S+)/.exec(added.stdout)?.[1];
  t.truthy(secret);
  t.regex(added.stdout, /events: order\.paid, order\.shipped/);
  t.regex(added.stderr, /Watchstore-Signature/);
  const row = await database.db('webhook_endpoints').where({ url: receiver.url }).first();
  t.is(row.secret, secret);
  t.is(row.events, 'order.paid,order.shipped');
  const id = Number(row.id);

  const json = await cli(['webhooks', 'add', `${receiver.url}/second`, '--json']);
  t.is(json.code, 0, json.stderr);
  const second = JSON.parse(json.stdout);
  t.like(second, { url: `${receiver.url}/second`, events: ['order.paid', 'order.shipped', 'order.canceled', 'order.refunded'], description: null });
  t.regex(second.secret, /^whsec_/);

  const list = await cli(['webhooks', 'list']);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, new RegExp(`│ +${id} │ ${receiver.url.replace(/[.]/g, '\\.')} `));
  t.regex(list.stdout, /Fulfilment/);
  t.false(list.stdout.includes('whsec_'));
  const listed = JSON.parse((await cli(['webhooks', 'list', '--json'])).stdout);
  t.deepEqual(
    listed.map((e: { id: number }) => e.id),
    [id, second.id],
  );
  t.false(JSON.stringify(listed).includes('whsec_'));

  const shown = await cli(['webhooks', 'secret', String(id)]);
  t.is(shown.code, 0, shown.stderr);
  t.deepEqual(lines(shown.stdout), [secret]);

  // A paid order's webhook is delivered and shows in the log.
  const placed = await placePendingOrder(database.db, { label: 'Cli', price: '30.00', stock: 2, quantity: 1 });
  await markPaid(database.db, placed.order.id);
  const settings = { pollMs: 20, leaseMs: 60_000, batchSize: 20, maxAttempts: 3, retryBaseMs: 10, retryMaxMs: 20 };
  await deliverBatch(database.db, { email: async () => {}, webhook: webhookDeliverer(database.db, { timeoutMs: 5000 }) }, settings);
  const log = await cli(['webhooks', 'deliveries', String(id), '--json']);
  t.is(log.code, 0, log.stderr);
  t.like(JSON.parse(log.stdout), [
    { endpoint_id: id, event: 'order.paid', attempt: 1, status_code: 200, ok: true, delivery_id: `order-${placed.order.id}.paid.endpoint-${id}` },
  ]);
  t.regex((await cli(['webhooks', 'deliveries', String(id)])).stdout, /order\.paid .*│ +200 │ yes/);

  const removed = await cli(['webhooks', 'remove', String(id)]);
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, new RegExp(`Webhook endpoint ${id} removed`));
  t.deepEqual(
    JSON.parse((await cli(['webhooks', 'list', '--json'])).stdout).map((e: { id: number }) => e.id),
    [second.id],
  );
  const all = JSON.parse((await cli(['webhooks', 'list', '--removed', '--json'])).stdout);
  t.truthy(all.find((e: { id: number; removed_at: string | null }) => e.id === id && e.removed_at));
  t.is(JSON.parse((await cli(['webhooks', 'deliveries', String(id), '--json'])).stdout).length, 1, 'the log stays');

  const again = await cli(['webhooks', 'remove', String(id)]);
  t.is(again.code, 1);
  t.regex(again.stderr, /^watchstore: Webhook endpoint \d+ \(active\) not found\.\n$/);

  const audit = await database
    .db('audit_log')
    .where({ target_type: 'webhook', target_id: String(id) })
    .orderBy('id');
  t.deepEqual(
    audit.map((r) => [r.action, r.actor]),
    [
      ['webhook.create', me],
      ['webhook.remove', me],
    ],
  );
  const auditList = await cli(['audit', 'list', '--target-type', 'webhook', '--json']);
  t.is(auditList.code, 0, auditList.stderr);
  t.true(JSON.parse(auditList.stdout).length >= 3);
});

test('bad input is one line on stderr and exit 2; an unknown id is exit 1', async (t) => {
  for (const args of [
    ['webhooks', 'add', 'ftp://erp.example.com/hooks'],
    ['webhooks', 'add', 'http://169.254.169.254/latest'],
    ['webhooks', 'add', 'https://erp.example.com/hooks', '--events', 'order.placed'],
    ['webhooks', 'add', 'https://erp.example.com/hooks', '--events', ','],
    ['webhooks', 'remove', 'abc'],
    ['webhooks', 'deliveries', '0'],
    ['webhooks', 'list', '--limit', '0'],
  ]) {
    const r = await cli(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^watchstore: /);
    t.is(r.stdout, '');
  }
  const missing = await cli(['webhooks', 'add']);
  t.is(missing.code, 2);
  for (const args of [
    ['webhooks', 'remove', '999999'],
    ['webhooks', 'deliveries', '999999'],
    ['webhooks', 'secret', '999999'],
  ]) {
    const r = await cli(args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, /^watchstore: Webhook endpoint 999999 (\(active\) )?not found\.\n$/);
  }
});
