/**
 * The e-mails an order and an account send (docs/data.md, "E-mails"), end to end, on SQLite or
 * MariaDB (TEST_DB=mysql): the real Koa app over HTTP takes the checkout, Stripe's signed webhooks
 * (the local fake Stripe) and the customer's requests; the outbox worker (deliverBatch /
 * startWorker) runs in this process with the real nodemailer transport, which talks SMTP to a
 * real SMTP server here (test/helpers/smtp.ts); mailparser reads what arrived.
 *
 * Serial: every test drains the one outbox and counts what reached the one SMTP server.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { simpleParser } from 'mailparser';
import { signAccessToken } from '../../src/auth/access-token.js';
import type { Db } from '../../src/db/connection.js';
import { emailDeliverer, messageIdOf } from '../../src/mail/deliver.js';
import { createMailer, type Mailer } from '../../src/mail/mailer.js';
import type { Deliverers, WorkerSettings } from '../../src/outbox/worker.js';
import { deliverBatch, startWorker } from '../../src/outbox/worker.js';
import { expirePendingOrders } from '../../src/payments/reconcile.service.js';
import { startApp, type Client, type TestApp } from '../helpers/app.js';
import { type Customer, signedInCustomer } from '../helpers/customers.js';
import { checkoutSessionEvent, FakeStripe, paymentIntentEvent, signPayload } from '../helpers/fake-stripe.js';
import { placePendingOrder } from '../helpers/orders.js';
import { createOrderFromCart, createProduct, createUser } from '../helpers/services.js';
import { type ReceivedMail, startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { signedInAs } from '../helpers/staff.js';

const SECRET = 'whsec_test_order_emails';
const STORE = 'https://shop.example.test';
const STORE_NAME = 'Tick & Tock Watches';
const FROM = 'Tick & Tock <orders@shop.example.test>';

let app: TestApp;
let stripe: FakeStripe;
let smtp: TestSmtp;
let mailer: Mailer;
let deliverers: Deliverers;
let db: Db;
let client: Client;

const settings: WorkerSettings = { pollMs: 20, leaseMs: 60_000, batchSize: 50, maxAttempts: 5, retryBaseMs: 10, retryMaxMs: 40 };

test.before(async () => {
  stripe = await FakeStripe.start();
  smtp = await startSmtp();
  app = await startApp({
    env: stripe.env({
      STRIPE_WEBHOOK_SECRET: SECRET,
      STORE_URL: STORE,
      STORE_NAME,
      MAIL_FROM: FROM,
      SMTP_URL: smtp.url,
      SHIPPING_FLAT_CENTS: '1599',
      SHIPPING_COUNTRIES: 'GB,US',
    }),
  });
  db = app.t.db;
  client = app.client();
  // The worker's own wiring (outbox/deliverers.ts), from the app's configuration.
  mailer = createMailer(app.config.mail);
  deliverers = {
    email: emailDeliverer(mailer, { storeName: app.config.storeName, storeUrl: app.config.storeUrl, from: app.config.mail.from }),
    webhook: async () => {
      throw new Error('no webhooks in this test');
    },
  };
});
test.after.always(async () => {
  mailer?.close();
  await app?.close();
  await stripe?.close();
  await smtp?.stop();
});

const run = randomBytes(3).toString('hex');
let seq = 0;

const ADDRESS = { name: 'Ada Lovelace', line1: '12 Analytical Row', line2: 'Flat 3', city: 'London', postal_code: 'N1 7AA', country: 'GB' };

/** Delivers everything due, batch after batch, until nothing is left to claim. */
async function drain(): Promise<void> {
  while ((await deliverBatch(db, deliverers, settings)).claimed > 0) {}
}

/** The text with its line wrapping undone, for checking sentences. */
const prose = (text: string) => text.replace(/\s+/g, ' ');
const mailsTo = (address: string) => smtp.received.filter((m) => m.envelopeTo.includes(address));
const emailOf = (c: Customer) => `${c.username}@example.com`;

/** A customer whose cart holds one line per [name, price, quantity]. */
async function buyerWithCart(lines: Array<[name: string, price: string, quantity: number, stock?: number]>) {
  const c = await signedInCustomer(db, app.config.accessTokenSecret, 'm');
  for (const [name, price, quantity, stock] of lines) {
    const p = await createProduct(db, { name, price, stock: stock ?? 10 });
    await db('cart_items').insert({ user_id: c.id, product_id: p.id, quantity });
  }
  return c;
}

/** The cart checked out with a PaymentIntent and an address (POST /api/checkout), then paid at Stripe. */
async function checkedOut(c: Customer, address: Record<string, string> = ADDRESS) {
  const res = await client.post('/api/checkout', { shipping_address: address }, c.auth);
  if (res.status !== 200) throw new Error(`checkout failed: ${res.text}`);
  return { orderId: res.body.order_id as number, intent: stripe.setStatus(res.body.payment_intent_id, 'succeeded') };
}

function sendEvent(event: unknown) {
  const payload = JSON.stringify(event, null, 2);
  return client.request('POST', '/api/webhooks/stripe', {
    body: payload,
    headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(payload, SECRET) },
  });
}

async function outboxRows(where: Record<string, unknown>) {
  return db('outbox').where(where).orderBy('id');
}

test.serial(
  'when payment_intent.succeeded arrives 5 times at once with 5 event ids, then the customer gets one confirmation (and one order-placed e-mail)',
  async (t) => {
    const c = await buyerWithCart([[`Aviator ${run} ${++seq}`, '450.00', 1]]);
    const { orderId, intent } = await checkedOut(c);
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendEvent(paymentIntentEvent('payment_intent.succeeded', intent))));
    t.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );

    // The worker as `serve` runs it, until it finds nothing due.
    const worker = startWorker(db, deliverers, settings);
    await worker.idle();
    await worker.stop();

    const mails = mailsTo(emailOf(c));
    t.deepEqual(
      mails.map((m) => m.subject).sort(),
      [`Your ${STORE_NAME} order #${orderId} is confirmed`, `We have your ${STORE_NAME} order #${orderId}`].sort(),
    );
    t.is((await outboxRows({ topic: 'order.paid', recipient: emailOf(c) })).length, 1);
    t.is((await db('stripe_events').where({ payment_intent_id: intent.id })).length, 5, 'five events recorded, one applied');
  },
);

test.serial('when the same payment_intent.succeeded event arrives 5 times at once, then the customer gets one confirmation', async (t) => {
  const c = await buyerWithCart([[`Diver ${run} ${++seq}`, '300.00', 1]]);
  const { orderId, intent } = await checkedOut(c);
  const event = paymentIntentEvent('payment_intent.succeeded', intent);
  const answers = await Promise.all(Array.from({ length: 5 }, () => sendEvent(event)));
  t.true(answers.every((r) => r.status === 200));
  await drain();
  t.is(mailsTo(emailOf(c)).filter((m) => m.subject === `Your ${STORE_NAME} order #${orderId} is confirmed`).length, 1);
});

test.serial('when an order rolls back (out of stock), then no message is queued or sent', async (t) => {
  const c = await buyerWithCart([
    [`Chronograph ${run} ${++seq}`, '900.00', 1, 5],
    [`Rare piece ${run} ${++seq}`, '5000.00', 3, 2],
  ]);
  const res = await client.post('/api/checkout', { shipping_address: ADDRESS }, c.auth);
  t.is(res.status, 409, res.text);
  t.is(res.body.error.code, 'OUT_OF_STOCK');
  t.deepEqual(await outboxRows({ recipient: emailOf(c) }), []);
  await drain();
  t.deepEqual(mailsTo(emailOf(c)), []);
});

test.serial(
  "when an order of 2 lines is paid, then the confirmation's text and HTML show the lines, totals in the order's currency, the address, and its Message-ID is the order's",
  async (t) => {
    const first = `Seamaster ${run} ${++seq}`;
    const second = `Leather strap ${run} ${++seq}`;
    const c = await buyerWithCart([
      [first, '1205.00', 2],
      [second, '59.99', 1],
    ]);
    const { orderId, intent } = await checkedOut(c);
    await drain(); // the order-placed e-mail
    t.is((await sendEvent(paymentIntentEvent('payment_intent.succeeded', intent))).status, 200);

    // The first attempt meets a mail server that says "try later": the retry carries the same Message-ID.
    smtp.failNext(1);
    t.like(await deliverBatch(db, deliverers, settings), { claimed: 1, failed: 1 });
    await db('outbox')
      .where({ message_key: `order-${orderId}.paid` })
      .update({ available_at: '2000-01-01 00:00:00.000' });
    await drain();

    const [mail] = mailsTo(emailOf(c)).filter((m) => m.subject?.endsWith('is confirmed'));
    t.truthy(mail);
    t.is(mail.subject, `Your ${STORE_NAME} order #${orderId} is confirmed`);
    t.is(mail.messageId, `<order-${orderId}.paid@shop.example.test>`);
    t.is(mail.messageId, messageIdOf({ message_key: `order-${orderId}.paid` }, 'shop.example.test'));
    t.is(mail.parsed.from?.value[0].address, 'orders@shop.example.test');

    // 2 × 1,205.00 + 59.99 = 2,469.99, + 15.99 shipping = 2,485.98
    const text = mail.text;
    t.regex(text, /^Hello Ada Lovelace,/);
    t.regex(prose(text), /We have received your payment of \$2,485\.98 on \d+ \w+ \d{4}, and we are getting your order ready\./);
    t.regex(text, new RegExp(`Order #${orderId}, placed `));
    t.regex(text, new RegExp(`  2 × ${first} +\\$2,410\\.00\\n +\\$1,205\\.00 each\\n`));
    t.regex(text, new RegExp(`  1 × ${second} +\\$59\\.99\\n`));
    t.regex(text, / {2}Subtotal +\$2,469\.99\n {2}Shipping +\$15\.99\n {2}Total +\$2,485\.98\n/);
    t.regex(text, /Shipping to:\n {2}Ada Lovelace\n {2}12 Analytical Row\n {2}Flat 3\n {2}London N1 7AA\n {2}United Kingdom\n/);
    t.regex(text, new RegExp(`${STORE_NAME}\\n${STORE}\\n$`));

    const html = mail.html;
    t.regex(html, /<html/);
    t.true(html.includes('Tick &amp; Tock Watches'), 'the shop name, escaped');
    t.true(html.includes(`2 × ${first}`));
    t.true(html.includes('$1,205.00 each'));
    t.true(html.includes('$2,410.00'));
    t.true(html.includes('$59.99'));
    t.true(html.includes('$2,469.99'));
    t.true(html.includes('$15.99'));
    t.true(html.includes('$2,485.98'));
    t.true(html.includes('Ada Lovelace<br>12 Analytical Row<br>Flat 3<br>London N1 7AA<br>United Kingdom'));
    t.is((await outboxRows({ message_key: `order-${orderId}.paid` }))[0].status, 'sent');
  },
);

test.serial('when a product and an address hold markup, then the HTML part shows it as text and the text part as it was typed', async (t) => {
  const evil = `<script>alert(1)</script> ${run}`;
  const c = await buyerWithCart([[evil, '10.00', 1]]);
  const { orderId, intent } = await checkedOut(c, { ...ADDRESS, name: 'Ada "<b>Bold</b>" & Co', line2: "<img src=x onerror='alert(2)'>" });
  await sendEvent(paymentIntentEvent('payment_intent.succeeded', intent));
  await drain();
  const [mail] = mailsTo(emailOf(c)).filter((m) => m.subject?.endsWith(`#${orderId} is confirmed`));
  t.truthy(mail);
  t.false(mail.html.includes('<script>'));
  t.false(mail.html.includes('<b>Bold'));
  t.false(mail.html.includes('<img'));
  t.true(mail.html.includes(`1 × &lt;script&gt;alert(1)&lt;/script&gt; ${run}`));
  t.true(mail.html.includes('Ada &quot;&lt;b&gt;Bold&lt;/b&gt;&quot; &amp; Co'));
  t.true(mail.html.includes('&lt;img src=x onerror=&#39;alert(2)&#39;&gt;'));
  t.true(mail.text.includes(`1 × ${evil}`));
  t.true(mail.text.includes('Hello Ada "<b>Bold</b>" & Co,'));
});

test.serial('when a hosted checkout is paid by an account without an e-mail, then the confirmation goes to the e-mail Stripe collected', async (t) => {
  const name = `legacy${run}_${++seq}`;
  const u = await createUser(db, { username: name, email: null, password: 'correct horse 1' });
  const auth = { authorization: `Bearer ${signAccessToken({ id: u.id, role: u.role }, app.config.accessTokenSecret)}` };
  const p = await createProduct(db, { name: `Field watch ${run} ${seq}`, price: '199.00', stock: 5 });
  await db('cart_items').insert({ user_id: u.id, product_id: p.id, quantity: 1 });
  const h = await client.post('/api/checkout', { mode: 'hosted' }, auth);
  t.is(h.status, 200, h.text);
  const orderId = h.body.order_id as number;
  await drain();
  t.deepEqual(await outboxRows({ topic: 'order.placed', message_key: `order-${orderId}.placed` }), [], 'no address yet: nothing queued');

  const collected = `Guest.${name}@Example.NET`;
  const session = stripe.completeSession(h.body.checkout_session_id, { customer_details: { email: collected, name: 'Ada Lovelace' } });
  t.is((await sendEvent(checkoutSessionEvent('checkout.session.completed', session))).status, 200);
  t.is((await db('orders').where({ id: orderId }).first()).customer_email, collected.toLowerCase());

  await drain();
  const mails = mailsTo(collected.toLowerCase());
  t.deepEqual(
    mails.map((m) => m.subject),
    [`Your ${STORE_NAME} order #${orderId} is confirmed`],
  );
  t.regex(mails[0].text, /Shipping to:\n {2}Ada Lovelace\n {2}12 Analytical Row/);
  t.regex(mails[0].text, /Total +\$214\.99/);
});

test.serial('when a customer cancels, then the e-mail says canceled; when `orders expire` cancels, then it says the order expired', async (t) => {
  const c = await buyerWithCart([[`Dress watch ${run} ${++seq}`, '120.00', 1]]);
  const { order } = await createOrderFromCart(db, c.id);
  t.is((await client.post(`/api/orders/${order.id}/cancel`, {}, c.auth)).status, 200);

  const old = await placePendingOrder(db, { label: 'Expiring', price: '80.00', stock: 3, quantity: 1, ageMs: 2 * 3_600_000 });
  const report = await expirePendingOrders(db, app.config, { olderThanMs: 3_600_000 });
  t.like(
    report.orders.find((o) => o.order_id === old.order.id),
    { action: 'canceled' },
  );
  await drain();

  const [canceled] = mailsTo(emailOf(c)).filter((m) => m.subject?.includes('canceled'));
  t.is(canceled.subject, `Your ${STORE_NAME} order #${order.id} has been canceled`);
  t.regex(prose(canceled.text), /has been canceled\. You have not been charged\./);
  t.notRegex(canceled.text, /expired|not paid in time/);

  const user = await db('users').where({ id: old.userId }).first();
  const [expired] = mailsTo(user.email).filter((m) => m.subject?.includes(`#${old.order.id}`) && !m.subject?.startsWith('We have'));
  t.is(expired.subject, `Your ${STORE_NAME} order #${old.order.id} has expired`);
  t.regex(prose(expired.text), /was not paid in time, so we have canceled it and released the items we were holding for you\. You have not been charged\./);
  t.true(expired.html.includes('was not paid in time'));
});

test.serial(
  'when an order ships with a known carrier, then the e-mail has the tracking number and link; an unknown carrier gets the number only',
  async (t) => {
    const admin = await signedInAs(db, app.config.accessTokenSecret, 'admin');
    const ship = async (carrier: string) => {
      const c = await buyerWithCart([[`Pilot ${run} ${++seq}`, '75.00', 1]]);
      const { orderId, intent } = await checkedOut(c);
      await sendEvent(paymentIntentEvent('payment_intent.succeeded', intent));
      const res = await client.post(`/api/admin/orders/${orderId}/ship`, { tracking_number: '1Z 999/AA1', carrier }, admin.auth);
      if (res.status !== 200) throw new Error(res.text);
      await drain();
      return mailsTo(emailOf(c)).find((m) => m.subject === `Your ${STORE_NAME} order #${orderId} has shipped`) as ReceivedMail;
    };
    const ups = await ship('UPS');
    t.regex(ups.text, /Carrier: UPS\nTracking number: 1Z 999\/AA1\nTrack your parcel: https:\/\/www\.ups\.com\/track\?tracknum=1Z%20999%2FAA1\n/);
    t.true(ups.html.includes('href="https://www.ups.com/track?tracknum=1Z%20999%2FAA1"'));

    const local = await ship('Pony Express <Ltd>');
    t.regex(local.text, /Carrier: Pony Express <Ltd>\nTracking number: 1Z 999\/AA1\n\n/);
    t.notRegex(local.text, /Track your parcel/);
    t.true(local.html.includes('Pony Express &lt;Ltd&gt;'));
  },
);

test.serial('when a shipped order is delivered and then refunded in full, then the customer gets each e-mail, the refund with its amount', async (t) => {
  const admin = await signedInAs(db, app.config.accessTokenSecret, 'admin');
  const c = await buyerWithCart([[`Skeleton ${run} ${++seq}`, '240.00', 1]]);
  const { orderId, intent } = await checkedOut(c);
  await sendEvent(paymentIntentEvent('payment_intent.succeeded', intent));
  for (const step of ['ship', 'deliver', 'refund']) {
    const res = await client.post(`/api/admin/orders/${orderId}/${step}`, {}, admin.auth);
    t.is(res.status, step === 'refund' ? 201 : 200, `${step}: ${res.text}`);
  }
  await drain();
  // One batch sends them side by side: they may arrive in any order.
  const mails = new Map(mailsTo(emailOf(c)).map((m) => [m.subject?.replace(`Your ${STORE_NAME} order #${orderId} `, ''), m]));
  t.deepEqual(
    [...mails.keys()].sort(),
    ['has been refunded', 'has shipped', 'is confirmed', 'was delivered', `We have your ${STORE_NAME} order #${orderId}`].sort(),
  );
  const shipped = mails.get('has shipped')!;
  t.notRegex(shipped.text, /Tracking number|Carrier/, 'shipped without tracking: no tracking block');
  const refunded = mails.get('has been refunded')!;
  // 240.00 + 15.99 shipping
  t.regex(prose(refunded.text), /We have refunded \$255\.99 for your order #\d+ to the card or account you paid with\./);
  t.regex(refunded.text, / {2}Total +\$255\.99\n {2}Refunded +\$255\.99\n/);
  t.true(refunded.html.includes('Refunded'));
});

test.serial(
  "when a customer changes their e-mail, then the old address gets a security notice in the change's transaction and the new one nothing",
  async (t) => {
    const c = await signedInCustomer(db, app.config.accessTokenSecret, 'e');
    const oldEmail = emailOf(c);
    const newEmail = `new.${c.username}@example.org`;
    const res = await client.request('PATCH', '/api/auth/me', { json: { email: newEmail }, headers: c.auth });
    t.is(res.status, 200, res.text);
    t.is(res.body.user.email, newEmail);

    // Again with the same address, and a taken one: no change, no notice.
    t.is((await client.request('PATCH', '/api/auth/me', { json: { email: newEmail }, headers: c.auth })).status, 200);
    const other = await signedInCustomer(db, app.config.accessTokenSecret, 'e');
    t.is((await client.request('PATCH', '/api/auth/me', { json: { email: emailOf(other) }, headers: c.auth })).status, 409);

    const rows = await outboxRows({ topic: 'account.email_changed' });
    t.deepEqual(
      rows.filter((r) => r.recipient === oldEmail || r.recipient === newEmail).map((r) => r.recipient),
      [oldEmail],
    );
    await drain();
    const [notice] = mailsTo(oldEmail);
    t.is(notice.subject, `The e-mail address of your ${STORE_NAME} account was changed`);
    t.regex(prose(notice.text), new RegExp(`account "${c.username}" was changed on`));
    t.regex(notice.text, new RegExp(`  from  ${oldEmail}\\n  to    ${newEmail.replace(/\./g, '\\.')}\\n`));
    t.regex(prose(notice.text), /If you did not, someone else may have access to your account/);
    t.deepEqual(mailsTo(newEmail), []);
  },
);

test.serial('when an account without an e-mail gets one, then there is no old address to tell and nothing is queued', async (t) => {
  const name = `noaddr${run}_${++seq}`;
  const u = await createUser(db, { username: name, email: null, password: 'correct horse 1' });
  const auth = { authorization: `Bearer ${signAccessToken({ id: u.id, role: u.role }, app.config.accessTokenSecret)}` };
  const before = (await outboxRows({ topic: 'account.email_changed' })).length;
  const res = await client.request('PATCH', '/api/auth/me', { json: { email: `${name}@example.org` }, headers: auth });
  t.is(res.status, 200, res.text);
  t.is((await outboxRows({ topic: 'account.email_changed' })).length, before);
});

test.serial('when no SMTP server is configured, then the e-mail is written as an .eml file that mailparser reads back', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'watchstore-mail-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await drain();
  const files = createMailer({ from: FROM, dir });
  t.teardown(() => files.close());
  const fileDeliverers: Deliverers = {
    ...deliverers,
    email: emailDeliverer(files, { storeName: STORE_NAME, storeUrl: STORE, from: FROM }),
  };

  const c = await buyerWithCart([[`Field ${run} ${++seq}`, '149.00', 1]]);
  const { orderId } = await checkedOut(c);
  t.like(await deliverBatch(db, fileDeliverers, settings), { claimed: 1, sent: 1 });

  const names = await readdir(dir);
  t.deepEqual(names, [`order-${orderId}.placed@shop.example.test.eml`]);
  const parsed = await simpleParser(await readFile(path.join(dir, names[0])));
  t.is(parsed.messageId, `<order-${orderId}.placed@shop.example.test>`);
  t.is(parsed.subject, `We have your ${STORE_NAME} order #${orderId}`);
  t.is(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0].address : undefined, emailOf(c));
  t.regex(prose(parsed.text ?? ''), /We are holding the items below for you until your payment arrives/);
  t.regex(parsed.text ?? '', /Total +\$164\.99/);
  t.regex(typeof parsed.html === 'string' ? parsed.html : '', /\$164\.99/);
});
