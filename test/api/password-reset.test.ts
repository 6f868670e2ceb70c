/**
 * Password reset (docs/api.md, "Password reset") over the real app: the request answers the same
 * for every login and queues the e-mail with the token in one transaction; the token works once,
 * expires, lets one of two concurrent confirms through, and ends every session; a sent e-mail's
 * token leaves the outbox. One test goes all the way through a real SMTP server.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { cliActor } from '../../src/auth/permissions.js';
import { emailDeliverer } from '../../src/mail/deliver.js';
import { createMailer } from '../../src/mail/mailer.js';
import type { EmailPayload } from '../../src/outbox/outbox.schemas.js';
import { deliverBatch } from '../../src/outbox/worker.js';
import { adminUpdateUser } from '../../src/users/admin-users.service.js';
import { usersRepository } from '../../src/users/users.repository.js';
import { startApp, type Client, type Res, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';
import { startSmtp } from '../helpers/smtp.js';

// One app for the file with the rate limits out of the way; the tests that need their own
// (rate limits, identical answers, the SMTP round trip) start theirs.
let app: TestApp;
const others: TestApp[] = [];
test.before(async () => {
  app = await startApp({ env: UNLIMITED_AUTH });
});
test.after.always(async () => {
  for (const a of others) await a.close();
  await app?.close();
});

const PASSWORD = 'correct horse 1';
let n = 0;

async function signedUp(a: TestApp = app, prefix = 'reset'): Promise<{ c: Client; username: string; email: string; id: number }> {
  n += 1;
  const username = `${prefix}_${n}_${process.pid}`;
  const email = `${username}@example.com`;
  const c = a.client();
  const res = await c.post('/api/auth/signup', { username, email, password: PASSWORD });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { c, username, email, id: res.body.user.id };
}

const requestReset = (a: TestApp, login: unknown) => a.client().post('/api/auth/password-reset', { login });
const confirm = (a: TestApp, token: unknown, password: unknown) => a.client().post('/api/auth/password-reset/confirm', { token, password });
const signin = (a: TestApp, login: string, password: string) => a.client().post('/api/auth/signin', { login, password });

interface OutboxRow {
  id: number;
  status: string;
  topic: string;
  recipient: string;
  payload: string;
}

/** The reset e-mails queued for `email`, oldest first. */
async function resetMails(a: TestApp, email: string): Promise<OutboxRow[]> {
  return a.t.db('outbox').where({ topic: 'password.reset', recipient: email }).orderBy('id');
}

/** The token of the newest reset e-mail queued for `email`, read from its outbox payload. */
async function latestToken(a: TestApp, email: string): Promise<string> {
  const rows = await resetMails(a, email);
  const payload = JSON.parse(rows.at(-1)!.payload) as EmailPayload;
  return payload.data.token as string;
}

async function resetToken(a: TestApp, email: string): Promise<string> {
  const res = await requestReset(a, email);
  if (res.status !== 202) throw new Error(`reset request failed: ${res.status} ${res.text}`);
  return latestToken(a, email);
}

function assertInvalidToken(t: import('ava').ExecutionContext, res: Res) {
  t.is(res.status, 400, res.text);
  t.is(res.body.error.code, 'INVALID_TOKEN');
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test('when a known account asks for a reset, then 202, a hashed single-use token for 30 minutes and one queued e-mail carrying it', async (t) => {
  const u = await signedUp();
  const res = await requestReset(app, u.username.toUpperCase()); // folded like sign-in's login
  t.is(res.status, 202, res.text);
  t.is(res.headers.get('cache-control'), 'no-store');

  const mails = await resetMails(app, u.email);
  t.is(mails.length, 1);
  t.is(mails[0].status, 'pending');
  const payload = JSON.parse(mails[0].payload) as EmailPayload;
  t.is(payload.to, u.email);
  t.is(payload.template, 'password.reset');
  t.deepEqual(payload.secret, ['token']);
  const token = payload.data.token as string;
  t.regex(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');

  const rows = await app.t.db('password_resets').where({ user_id: u.id });
  t.is(rows.length, 1);
  t.is(rows[0].token_hash, sha256(token), 'only the hash is stored');
  t.is(rows[0].used_at, null);
  const minutes = (Date.parse(`${String(rows[0].expires_at).replace(' ', 'T')}Z`) - Date.parse(`${String(rows[0].created_at).replace(' ', 'T')}Z`)) / 60_000;
  t.is(Math.round(minutes), 30);
});

test('when the token is used, then the new password works, the old does not, and the same token is refused the second time', async (t) => {
  const u = await signedUp();
  const token = await resetToken(app, u.email);

  const ok = await confirm(app, token, 'a brand new password');
  t.is(ok.status, 200, ok.text);
  t.is(typeof ok.body.message, 'string');
  t.is(ok.headers.getSetCookie().length, 0, 'a reset does not sign anyone in');
  t.is((await signin(app, u.username, 'a brand new password')).status, 200);
  t.is((await signin(app, u.username, PASSWORD)).status, 401);

  assertInvalidToken(t, await confirm(app, token, 'yet another password'));
  t.is((await signin(app, u.username, 'a brand new password')).status, 200, 'the second use changed nothing');
});

test('when the token has expired, then it is refused like an unknown one and the password stays', async (t) => {
  const u = await signedUp();
  const token = await resetToken(app, u.email);
  await app.t
    .db('password_resets')
    .where({ token_hash: sha256(token) })
    .update({ expires_at: '2000-01-01 00:00:00.000' });

  const expired = await confirm(app, token, 'a brand new password');
  assertInvalidToken(t, expired);
  const unknown = await confirm(app, 'A'.repeat(43), 'a brand new password');
  assertInvalidToken(t, unknown);
  t.deepEqual(expired.body, unknown.body, 'unknown, used and expired give one answer');
  t.is((await signin(app, u.username, PASSWORD)).status, 200);
});

test('when two confirms of one token race, then exactly one succeeds and its password is the one set', async (t) => {
  for (let round = 0; round < 3; round++) {
    const u = await signedUp();
    const token = await resetToken(app, u.email);
    const passwords = [`first password ${round}`, `second password ${round}`];
    const answers = await Promise.all(passwords.map((p) => confirm(app, token, p)));
    t.deepEqual(answers.map((r) => r.status).sort(), [200, 400], answers.map((r) => r.text).join(' | '));
    const loser = answers.find((r) => r.status === 400)!;
    t.is(loser.body.error.code, 'INVALID_TOKEN');
    const winner = passwords[answers.findIndex((r) => r.status === 200)];
    t.is((await signin(app, u.username, winner)).status, 200);
    t.is((await signin(app, u.username, passwords.find((p) => p !== winner)!)).status, 401);
  }
});

test('when the password is reset, then every session of the account ends (an old refresh cookie no longer refreshes)', async (t) => {
  const u = await signedUp();
  const other = app.client();
  t.is((await other.post('/api/auth/signin', { login: u.email, password: PASSWORD })).status, 200);
  t.is((await u.c.post('/api/auth/refresh')).status, 200, 'the session works before');
  const stranger = await signedUp();

  t.is((await confirm(app, await resetToken(app, u.email), 'a brand new password')).status, 200);

  for (const c of [u.c, other]) {
    const res = await c.post('/api/auth/refresh');
    t.is(res.status, 401, res.text);
  }
  t.is((await app.t.db('refresh_tokens').where({ user_id: u.id }).whereNull('revoked_at')).length, 0);
  t.is((await stranger.c.post('/api/auth/refresh')).status, 200, "another account's session is untouched");
});

test('when a reset is asked for twice, then both links work until one is used, and using one ends the other', async (t) => {
  const u = await signedUp();
  const first = await resetToken(app, u.email);
  const second = await resetToken(app, u.email);
  t.not(first, second);
  t.is((await resetMails(app, u.email)).length, 2);

  t.is((await confirm(app, first, 'a brand new password')).status, 200, 'the older link still worked');
  assertInvalidToken(t, await confirm(app, second, 'another new password'));
  t.is((await signin(app, u.username, 'a brand new password')).status, 200);
});

test('when the account changes its e-mail address, then a reset link sent to the old address no longer works', async (t) => {
  const u = await signedUp();
  const token = await resetToken(app, u.email);
  // The owner moves away from a mailbox someone else can read.
  const moved = await u.c.request('PATCH', '/api/auth/me', { json: { email: `moved_${u.email}` } });
  t.is(moved.status, 200, moved.text);
  assertInvalidToken(t, await confirm(app, token, 'a brand new password'));
  t.is((await signin(app, u.username, PASSWORD)).status, 200, 'the password stays');
});

test('when the account is disabled, then no reset e-mail is queued, and a token issued before the disabling neither sets the password nor re-enables it', async (t) => {
  const u = await signedUp();
  const token = await resetToken(app, u.email);
  await adminUpdateUser(app.t.db, cliActor('test'), u.id, { disabled: true });

  t.is((await requestReset(app, u.email)).status, 202);
  t.is((await resetMails(app, u.email)).length, 1, 'nothing queued for the disabled account');

  assertInvalidToken(t, await confirm(app, token, 'a brand new password'));
  const row = await usersRepository.findById(app.t.db, u.id);
  t.truthy(row?.disabled_at, 'still disabled');
  // The old password is still the one (403: right password, disabled account); the new one is not.
  t.is((await signin(app, u.username, PASSWORD)).status, 403);
  t.is((await signin(app, u.username, 'a brand new password')).status, 401);
});

test('when the request names a known account, an unknown login, an account without e-mail or a disabled one, then the answers are identical and only the first queues an e-mail', async (t) => {
  const known = await signedUp();
  // An account from the old sign-up form has no e-mail (docs/legacy.md).
  const noEmail = `noemail_${process.pid}`;
  const noEmailId = await usersRepository.insert(app.t.db, { username: noEmail, email: null, password_hash: 'x', role: 'customer' });
  const unknown = `nobody_${process.pid}`;
  const disabled = await signedUp();
  await adminUpdateUser(app.t.db, cliActor('test'), disabled.id, { disabled: true });

  // Each on a fresh app (same database), so the rate-limit counters are at the same point.
  const answers: Res[] = [];
  for (const login of [known.username, unknown, noEmail, disabled.email]) {
    const a = await startApp({ database: app.t });
    others.push(a);
    answers.push(await requestReset(a, login));
  }
  const shape = (r: Res) => ({
    status: r.status,
    body: r.text,
    // Not the request id or the clock (Date, and the rate-limit window's end in seconds).
    headers: [...r.headers].filter(([k]) => !['x-request-id', 'date', 'x-ratelimit-reset'].includes(k)),
  });
  t.is(answers[0].status, 202);
  t.deepEqual(shape(answers[1]), shape(answers[0]));
  t.deepEqual(shape(answers[2]), shape(answers[0]));
  t.deepEqual(shape(answers[3]), shape(answers[0]));

  // Other tests queue e-mails meanwhile: look for these logins' only.
  t.is((await resetMails(app, known.email)).length, 1);
  t.is((await app.t.db('password_resets').whereIn('user_id', [noEmailId, disabled.id])).length, 0);
  t.is((await resetMails(app, disabled.email)).length, 0);
  const mentions = await app.t.db('outbox').where('payload', 'like', `%${unknown}%`).orWhere('payload', 'like', `%${noEmail}%`);
  t.is(mentions.length, 0);
});

test('when a known account asks for a reset, then the public health answer does not change (its outbox counts leave reset e-mails out)', async (t) => {
  // Its own database: nothing else queues there meanwhile.
  const a = await startApp({ env: UNLIMITED_AUTH });
  others.push(a);
  const known = await signedUp(a);
  const health = async () => (await a.client().get('/api/health')).body.outbox;
  const before = await health();
  t.is((await requestReset(a, known.username)).status, 202);
  t.is((await resetMails(a, known.email)).length, 1, 'the e-mail is queued (no worker runs in a test app)');
  t.deepEqual(await health(), before);
});

test('when one address asks again and again, then 429 after the sign-in limits (per IP and per IP+login), and confirms are limited per IP', async (t) => {
  const a = await startApp({ database: app.t, env: { RATE_LIMIT_SIGNIN_PER_IP: '6', RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '3' } });
  others.push(a);
  // One login: the per-IP+login limit (3), in any case.
  for (const login of ['someone', 'SOMEONE', 'Someone']) t.is((await requestReset(a, login)).status, 202);
  const perLogin = await requestReset(a, 'someone');
  t.is(perLogin.status, 429, perLogin.text);
  t.is(perLogin.body.error.code, 'RATE_LIMITED');
  t.truthy(perLogin.headers.get('retry-after'));
  // Other logins from the same address: the per-IP limit (6, the 4th counted above included).
  for (const login of ['other1', 'other2']) t.is((await requestReset(a, login)).status, 202);
  t.is((await requestReset(a, 'other3')).status, 429);

  // Confirms: per IP (6).
  for (let i = 0; i < 6; i++) t.is((await confirm(a, 'B'.repeat(43), 'a brand new password')).status, 400);
  const limited = await confirm(a, 'B'.repeat(43), 'a brand new password');
  t.is(limited.status, 429);
  t.is(limited.body.error.code, 'RATE_LIMITED');
});

test('when the bodies are bad, then 400 with the error body, never a 500', async (t) => {
  const cases: [string, unknown, string][] = [
    ['/api/auth/password-reset', {}, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', { login: '' }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', { login: 42 }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', { login: ['a'] }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', { login: 'x'.repeat(10_000) }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', [], 'VALIDATION_FAILED'],
    ['/api/auth/password-reset', 'login', 'INVALID_JSON'], // a bare JSON string: the strict parser refuses it
    ['/api/auth/password-reset/confirm', {}, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 'A'.repeat(43) }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 'A'.repeat(43), password: 'short' }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 'A'.repeat(43), password: 'é'.repeat(40) }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 7, password: 'a brand new password' }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 'x'.repeat(5000), password: 'a brand new password' }, 'VALIDATION_FAILED'],
    ['/api/auth/password-reset/confirm', { token: 'not a token', password: 'a brand new password' }, 'INVALID_TOKEN'],
    ['/api/auth/password-reset/confirm', { token: "' OR 1=1 --", password: 'a brand new password' }, 'INVALID_TOKEN'],
    ['/api/auth/password-reset/confirm', { token: '\u0000'.repeat(43), password: 'a brand new password' }, 'INVALID_TOKEN'],
  ];
  for (const [path, body, code] of cases) {
    const res = await app.client().post(path, body);
    t.is(res.status, 400, `${path} ${JSON.stringify(body).slice(0, 60)}: ${res.text}`);
    t.is(res.body.error.code, code, `${path} ${JSON.stringify(body).slice(0, 60)}`);
  }
  const broken = await app.client().request('POST', '/api/auth/password-reset', { body: '{"login":', headers: { 'content-type': 'application/json' } });
  t.is(broken.status, 400);
  t.is(broken.body.error.code, 'INVALID_JSON');
});

test('when the worker sends the reset e-mail through a real SMTP server, then (after a failed attempt that keeps the token) it arrives with the link and the expiry, its token works, and the outbox no longer holds it', async (t) => {
  const smtp = await startSmtp();
  const a = await startApp({ env: { ...UNLIMITED_AUTH, STORE_NAME: 'Tick & <Tock>', STORE_URL: 'https://shop.example.com' } });
  others.push(a);
  const mailer = createMailer({ smtpUrl: smtp.url, from: 'Tick and Tock <shop@example.com>', dir: '' });
  t.teardown(async () => {
    mailer.close();
    await smtp.stop();
  });
  const u = await signedUp(a, 'smtp');
  t.is((await requestReset(a, u.email)).status, 202);

  const deliverers = {
    email: emailDeliverer(mailer, { storeName: a.config.storeName, storeUrl: a.config.storeUrl, from: 'Tick and Tock <shop@example.com>' }),
    webhook: async () => {
      throw new Error('no webhooks here');
    },
  };
  // The first attempt fails (451): the row keeps its token for the retry.
  smtp.failNext(1);
  t.deepEqual(await deliverBatch(a.t.db, deliverers, a.config.outbox), { claimed: 1, sent: 0, failed: 1, dead: 0 });
  const [failed] = await resetMails(a, u.email);
  t.is(failed.status, 'pending');
  t.regex((JSON.parse(failed.payload) as EmailPayload).data.token as string, /^[A-Za-z0-9_-]{43}$/);
  await a.t.db('outbox').where({ id: failed.id }).update({ available_at: '2000-01-01 00:00:00.000' }); // due again now

  const batch = await deliverBatch(a.t.db, deliverers, a.config.outbox);
  t.deepEqual(batch, { claimed: 1, sent: 1, failed: 0, dead: 0 });
  const [mail] = await smtp.waitFor(1);
  t.deepEqual(mail.envelopeTo, [u.email]);
  t.is(mail.subject, 'Reset your Tick & <Tock> password');
  t.regex(mail.text, /expires at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  t.regex(mail.text, /If you did not ask for this, ignore this e-mail/);
  t.true(mail.html.includes('Tick &amp; &lt;Tock&gt;'), 'the shop name is escaped in the HTML part');
  t.false(mail.html.includes('<Tock>'));

  const link = /https:\/\/shop\.example\.com\/reset-password\?token=([A-Za-z0-9_-]{43})/.exec(mail.text);
  t.truthy(link, mail.text);
  const token = link![1];
  t.true(mail.text.includes(`code on the reset page: ${token}`), 'the raw token is there too');
  t.true(mail.html.includes(`token=${token}`));

  // The sent row keeps what it said, but not the token.
  const [row] = await resetMails(a, u.email);
  t.is(row.status, 'sent');
  t.false(row.payload.includes(token));
  const kept = JSON.parse(row.payload) as EmailPayload;
  t.is(kept.data.token, undefined);
  t.is(kept.data.username, u.username);

  t.is((await confirm(a, token, 'a brand new password')).status, 200);
  t.is((await signin(a, u.email, 'a brand new password')).status, 200);
  assertInvalidToken(t, await confirm(a, token, 'another new password'));
});
