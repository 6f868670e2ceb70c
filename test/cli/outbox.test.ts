/**
 * `watchstore outbox list|show|retry` and `watchstore worker --once`, in-process against a real
 * database, with a real SMTP server (test/helpers/smtp.ts) for the worker. Orders are placed
 * through the orders service, which queues their 'order.placed' e-mail.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { toDbTime } from '../../src/db/values.js';
import { enqueue, findMessage } from '../../src/outbox/outbox.repository.js';
import { ANSI, cliInProcess, lines } from '../helpers/cli-in-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

let database: TestDatabase;
let smtp: TestSmtp;
let cli: ReturnType<typeof cliInProcess>;

test.before(async () => {
  database = await createTestDatabase();
  smtp = await startSmtp();
  cli = cliInProcess(database, { SMTP_URL: smtp.url, STORE_NAME: 'Halden Watches', STORE_URL: 'https://shop.example.com' });
});
test.after.always(async () => {
  await smtp?.stop();
  await database?.drop();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

/** A new customer's order, whose confirmation is queued in the outbox; returns the outbox row's id. */
async function placeOrder(): Promise<{ orderId: number; email: string; outboxId: number }> {
  const n = ++seq;
  const u = await createUser(database.db, { username: `o${run}_${n}`, email: `o${run}_${n}@example.com`, password: 'correct horse' });
  const p = await createProduct(database.db, { name: `Watch ${run} ${n}`, price: '349.00', stock: 5 });
  await database.db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
  const { order } = await createOrderFromCart(database.db, u.id);
  const row = await database.db('outbox').where('message_key', `order-${order.id}.placed`).first('id');
  return { orderId: order.id, email: u.email!, outboxId: Number(row.id) };
}

async function queueEmail(template: string): Promise<number> {
  const key = `test-${run}-${++seq}`;
  await database.db.transaction((trx) => enqueue(trx, { kind: 'email', topic: 'test.message', key, payload: { to: 'ada@example.com', template, data: {} } }));
  return Number((await database.db('outbox').where('message_key', key).first('id')).id);
}

const kill = (id: number) => database.db('outbox').where({ id }).update({ status: 'dead', attempts: 10, last_error: '550 no such mailbox' });

test.serial('when outbox list runs, then a table shows each message newest first, and --status and --json filter and carry it', async (t) => {
  const a = await placeOrder();
  const b = await placeOrder();
  await kill(a.outboxId);

  const r = await cli(['outbox', 'list'], { columns: 200 });
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, ANSI);
  for (const head of ['ID', 'Status', 'Kind', 'Topic', 'To', 'Tries', 'When', 'Created', 'Last error']) t.true(r.stdout.includes(head), head);
  const rows = lines(r.stdout).filter((l) => /order\.placed/.test(l));
  t.true(rows[0].includes(b.email) && /│\s*pending\s*│\s*email\s*│/.test(rows[0]), r.stdout);
  t.true(rows[1].includes(a.email) && /│\s*dead\s*│/.test(rows[1]) && rows[1].includes('550 no such mailbox'), r.stdout);

  const dead = await cli(['--json', 'outbox', 'list', '--status', 'dead']);
  t.is(dead.code, 0, dead.stderr);
  const items = JSON.parse(dead.stdout);
  t.deepEqual(
    items.map((m: { id: number }) => m.id),
    [a.outboxId],
  );
  t.like(items[0], { kind: 'email', topic: 'order.placed', recipient: a.email, status: 'dead', payload: { to: a.email, template: 'order.placed' } });

  t.is(JSON.parse((await cli(['outbox', 'list', '--limit', '1', '--json'])).stdout).length, 1);
  await database.db('outbox').delete();
});

test.serial('when outbox list, show or retry get bad input, then one line and exit 2', async (t) => {
  for (const args of [
    ['outbox', 'list', '--status', 'lost'],
    ['outbox', 'list', '--limit', '0'],
    ['outbox', 'show', 'abc'],
    ['outbox', 'retry'],
    ['outbox', 'retry', '3', '--dead'],
    ['outbox', 'retry', '-1'],
  ]) {
    const r = await cli(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^watchstore: /);
    t.is(r.stdout, '');
  }
});

test.serial('when outbox show names an order e-mail, then it shows its state and the e-mail as the customer gets it', async (t) => {
  const { orderId, email, outboxId } = await placeOrder();
  const r = await cli(['outbox', 'show', String(outboxId)]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`Message #${outboxId}\\s+pending\\s+email\\s+order\\.placed`));
  t.regex(r.stdout, new RegExp(`To:\\s+${email}`));
  t.regex(r.stdout, new RegExp(`Key:\\s+order-${orderId}\\.placed`));
  t.regex(r.stdout, new RegExp(`Subject: .*Halden Watches order #${orderId}\\b`));
  t.regex(r.stdout, new RegExp(`#${orderId}`));

  const json = JSON.parse((await cli(['--json', 'outbox', 'show', String(outboxId)])).stdout);
  t.is(json.id, outboxId);
  t.regex(json.rendered.subject, /Halden Watches order #\d+$/);
  t.true(json.rendered.text.length > 0 && json.rendered.html.length > 0);
  t.is(json.render_error, null);
  await database.db('outbox').delete();
});

test.serial('when outbox show names a password-reset e-mail, then it is rendered with the template the worker uses', async (t) => {
  const key = `reset-${run}`;
  await database.db.transaction((trx) =>
    enqueue(trx, {
      kind: 'email',
      topic: 'password.reset',
      key,
      payload: {
        to: 'ada@example.com',
        template: 'password.reset',
        data: { token: 'tok123', username: 'ada', expires_at: '2026-12-01T09:30:00.000Z', minutes: 30 },
      },
    }),
  );
  const id = Number((await database.db('outbox').where('message_key', key).first('id')).id);
  const r = await cli(['outbox', 'show', String(id)]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Subject: Reset your Halden Watches password/);
  t.regex(r.stdout, /https:\/\/shop\.example\.com\/reset-password\?token=tok123/);
  await database.db('outbox').delete();
});

test.serial('when outbox list --json lists a password-reset e-mail not yet sent, then its token is not in the output', async (t) => {
  const key = `reset-list-${run}`;
  const token = `tok${randomBytes(16).toString('hex')}`;
  await database.db.transaction((trx) =>
    enqueue(trx, {
      kind: 'email',
      topic: 'password.reset',
      key,
      payload: { to: 'ada@example.com', template: 'password.reset', data: { token, username: 'ada', minutes: 30 }, secret: ['token'] },
    }),
  );
  const r = await cli(['--json', 'outbox', 'list']);
  t.is(r.code, 0, r.stderr);
  const listed = JSON.parse(r.stdout).find((m: { message_key: string }) => m.message_key === key);
  t.like(listed, { status: 'pending', topic: 'password.reset', payload: { data: { username: 'ada' } } });
  t.false(r.stdout.includes(token));
  await database.db('outbox').delete();
});

test.serial('when outbox show names an e-mail of an unknown template, then it says so instead of failing; a missing id is exit 1', async (t) => {
  const id = await queueEmail('no.such.template');
  const r = await cli(['outbox', 'show', String(id)]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Cannot render this e-mail: no e-mail template named no\.such\.template\./);
  const json = JSON.parse((await cli(['--json', 'outbox', 'show', String(id)])).stdout);
  t.is(json.rendered, null);
  t.is(json.render_error, 'no e-mail template named no.such.template');

  const missing = await cli(['outbox', 'show', String(id + 1000)]);
  t.is(missing.code, 1);
  t.is(missing.stderr, `watchstore: No outbox message #${id + 1000}.\n`);
  await database.db('outbox').delete();
});

test.serial("when a message's stored payload is not JSON, then outbox list and show still show it and say so", async (t) => {
  const id = await queueEmail('order.placed');
  await database.db('outbox').where({ id }).update({ payload: '{"to": "ada@exa' });
  const listed = await cli(['--json', 'outbox', 'list']);
  t.is(listed.code, 0, listed.stderr);
  t.is(JSON.parse(listed.stdout).find((m: { id: number }) => m.id === id).payload, null);
  const shown = await cli(['outbox', 'show', String(id)]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /Cannot render this e-mail: its stored payload is not a JSON object\./);
  await database.db('outbox').delete();
});

test.serial('when outbox show names a webhook, then it shows its body', async (t) => {
  const [endpointId] = await database.db('webhook_endpoints').insert({ url: 'https://erp.example.com/hook', events: 'order.paid', secret: 'whsec_x' });
  const body = JSON.stringify({ type: 'order.paid', data: { id: 7 } });
  await database.db.transaction((trx) =>
    enqueue(trx, {
      kind: 'webhook',
      topic: 'order.paid',
      key: `wh-${run}`,
      endpointId: Number(endpointId) || 1,
      url: 'https://erp.example.com/hook',
      payload: { event: 'order.paid', body },
    }),
  );
  const id = Number((await database.db('outbox').where('message_key', `wh-${run}`).first('id')).id);
  const r = await cli(['outbox', 'show', String(id)]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /To:\s+https:\/\/erp\.example\.com\/hook/);
  t.true(r.stdout.includes(body));
  await database.db('outbox').delete();
});

test.serial('when outbox retry names a dead message, then it is due again with its attempts counted afresh; a sent one is exit 1', async (t) => {
  const { outboxId } = await placeOrder();
  await kill(outboxId);
  const r = await cli(['outbox', 'retry', String(outboxId)]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `Message #${outboxId} is due again (its attempts start over).\n`);
  t.like(await findMessage(database.db, outboxId), { status: 'pending', attempts: 0 });

  await database
    .db('outbox')
    .where('id', outboxId)
    .update({ status: 'sent', sent_at: toDbTime(new Date()) });
  const sent = await cli(['outbox', 'retry', String(outboxId)]);
  t.is(sent.code, 1);
  t.regex(sent.stderr, new RegExp(`^watchstore: Message #${outboxId} was sent at .*; it is not sent again\\.\\n$`));
  t.is((await findMessage(database.db, outboxId))?.status, 'sent');
  t.is((await cli(['outbox', 'retry', '999999'])).code, 1);
  await database.db('outbox').delete();
});

test.serial('when outbox retry names a message a worker holds, then it is left to that worker (exit 1)', async (t) => {
  const { outboxId } = await placeOrder();
  const lease = toDbTime(new Date(Date.now() + 600_000));
  await database.db('outbox').where('id', outboxId).update({ claim_token: 'held-by-a-worker', attempts: 1, available_at: lease });
  const r = await cli(['outbox', 'retry', String(outboxId)]);
  t.is(r.code, 1);
  t.regex(r.stderr, /is being delivered right now/);
  const row = await database.db('outbox').where('id', outboxId).first();
  t.is(row.claim_token, 'held-by-a-worker');
  t.is(Number(row.attempts), 1);
  await database.db('outbox').delete();
});

test.serial('when outbox retry --dead runs, then every dead message is due again and worker --once delivers them over SMTP', async (t) => {
  const orders = [await placeOrder(), await placeOrder(), await placeOrder()];
  for (const o of orders.slice(0, 2)) await kill(o.outboxId);
  const retry = await cli(['outbox', 'retry', '--dead']);
  t.is(retry.code, 0, retry.stderr);
  t.is(retry.stdout, '2 dead messages are due again.\n');
  t.is((await cli(['outbox', 'retry', '--dead'])).stdout, 'No dead messages.\n');

  const before = smtp.received.length;
  const r = await cli(['--json', 'worker', '--once']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { claimed: 3, sent: 3, failed: 0, dead: 0 });
  const got = smtp.received.slice(before);
  t.deepEqual(got.map((m) => m.envelopeTo[0]).sort(), orders.map((o) => o.email).sort());
  for (const o of orders) t.is((await findMessage(database.db, o.outboxId))?.status, 'sent');
  await database.db('outbox').delete();
});

test.serial(
  'when worker --once meets a failing mail server, then it logs one line per failure, says what it did, and the rows wait for their retry',
  async (t) => {
    const orders = [await placeOrder(), await placeOrder()];
    smtp.failNext(2);
    const r = await cli(['worker', '--once'], { env: { LOG_LEVEL: 'warn', OUTBOX_RETRY_BASE_MS: '600000' } });
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, 'Delivered 0 of 2 messages; 2 failed and will be retried, 0 dead.\n');
    const logged = lines(r.stderr).map((l) => JSON.parse(l));
    t.is(logged.length, 2, r.stderr);
    t.deepEqual(logged.map((l) => l.outbox_id).sort(), orders.map((o) => o.outboxId).sort());
    for (const l of logged) t.like(l, { msg: 'outbox: delivery failed, will retry', attempt: 1 });
    for (const o of orders) t.like(await findMessage(database.db, o.outboxId), { status: 'pending', attempts: 1 });
    await database.db('outbox').delete();
  },
);
