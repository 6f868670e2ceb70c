import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ANSI, cliInProcess, runCli } from '../helpers/cli-in-process.js';
import { startSmtp } from '../helpers/smtp.js';

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
}

let migrated: TestDatabase;

test.before(async () => {
  migrated = await createTestDatabase();
});
test.after.always(() => migrated?.drop());

const find = (checks: Check[], name: string) => checks.find((c) => c.check === name)!;

test('when doctor runs on a migrated database, then it exits 0 with a table of checks', async (t) => {
  const r = await cliInProcess(migrated)(['doctor']);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /│ Check\s+│ Status │ Detail/);
  t.regex(r.stdout, /│ migrations\s+│ ok\s+│ \d+ applied, none pending/);
  t.notRegex(r.stdout, ANSI);
});

test('when doctor --json runs, then it prints an array of checks without secrets', async (t) => {
  const r = await cliInProcess(migrated, { STRIPE_SECRET_KEY: 'sk_test_do-not-print-me', STRIPE_WEBHOOK_SECRET: 'whsec_do-not-print-me' })([
    'doctor',
    '--json',
  ]);
  t.is(r.code, 0, r.stderr);
  const checks = JSON.parse(r.stdout) as Check[];
  t.deepEqual(
    checks.map((c) => c.check),
    ['config', 'database', 'migrations', 'token secrets', 'stripe', 'stripe webhook', 'redis', 'mail'],
  );
  t.is(find(checks, 'database').status, 'ok');
  t.is(find(checks, 'database').detail.startsWith(migrated.dialect === 'mysql' ? 'mysql://' : 'sqlite:'), true);
  t.like(find(checks, 'stripe'), { status: 'ok', detail: 'STRIPE_SECRET_KEY set (test mode)' });
  t.is(find(checks, 'stripe webhook').status, 'ok');
  t.like(find(checks, 'redis'), { status: 'ok' });
  t.regex(find(checks, 'redis').detail, /not configured/);
  t.notRegex(r.stdout, /do-not-print-me/);
});

test('when token secrets and Stripe are not configured, then doctor warns but still exits 0', async (t) => {
  const r = await cliInProcess(migrated, { ACCESS_TOKEN_SECRET: undefined, REFRESH_TOKEN_SECRET: undefined })(['doctor', '--json']);
  t.is(r.code, 0, r.stderr);
  const checks = JSON.parse(r.stdout) as Check[];
  t.like(find(checks, 'token secrets'), { status: 'warn' });
  t.regex(find(checks, 'token secrets').detail, /generated for this process/);
  t.like(find(checks, 'stripe'), { status: 'warn' });
});

test('when the database is not migrated, then doctor reports the pending migrations and exits 1', async (t) => {
  const empty = await createEmptyDatabase();
  t.teardown(() => empty.drop());
  const r = await cliInProcess(empty)(['doctor', '--json']);
  t.is(r.code, 1, r.stderr);
  const migrations = find(JSON.parse(r.stdout) as Check[], 'migrations');
  t.is(migrations.status, 'fail');
  t.regex(migrations.detail, /pending.*run `watchstore migrate`/);
});

test('when the database cannot be reached, then doctor says so, skips migrations and exits 1', async (t) => {
  const r = await runCli(['doctor', '--json'], { env: { DATABASE_URL: 'mysql://root:pw@127.0.0.1:1/x' } });
  t.is(r.code, 1, r.stderr);
  const checks = JSON.parse(r.stdout) as Check[];
  t.like(find(checks, 'database'), { status: 'fail', detail: 'cannot reach mysql://root@127.0.0.1:1/x: ECONNREFUSED' });
  t.is(find(checks, 'migrations').status, 'skip');
});

test('when REDIS_URL points at a live Redis, then doctor reports its PONG', async (t) => {
  const r = await cliInProcess(migrated, { REDIS_URL: 'redis://127.0.0.1:6379' })(['doctor', '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(find(JSON.parse(r.stdout) as Check[], 'redis'), { status: 'ok', detail: 'redis://127.0.0.1:6379 answered PONG' });
});

test('when REDIS_URL points nowhere, then doctor fails the redis check without printing its password', async (t) => {
  const r = await cliInProcess(migrated, { REDIS_URL: 'redis://:hush@127.0.0.1:1' })(['doctor', '--json']);
  t.is(r.code, 1);
  const redis = find(JSON.parse(r.stdout) as Check[], 'redis');
  t.is(redis.status, 'fail');
  t.regex(redis.detail, /cannot reach redis:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
  t.notRegex(r.stdout, /hush/);
});

test('when SMTP_URL is not set, then doctor says e-mails are written as files under MAIL_DIR', async (t) => {
  const dir = path.join(os.tmpdir(), 'watchstore-doctor-mail-not-created');
  const r = await cliInProcess(migrated, { SMTP_URL: undefined, MAIL_DIR: dir })(['doctor', '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(find(JSON.parse(r.stdout) as Check[], 'mail'), { status: 'ok', detail: `SMTP_URL not set: e-mails are written as .eml files under ${dir}` });
  t.false(existsSync(dir), 'doctor only reports the directory');
});

test('when SMTP_URL points at a live mail server, then doctor reports that it answered', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const r = await cliInProcess(migrated, { SMTP_URL: smtp.url })(['doctor', '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(find(JSON.parse(r.stdout) as Check[], 'mail'), { status: 'ok', detail: `smtp://127.0.0.1:${smtp.port} answered` });
  t.is(smtp.received.length, 0, 'verify sends nothing');
});

test('when the mail server does not answer, then doctor fails the mail check, exits 1 and prints no credentials', async (t) => {
  const smtp = await startSmtp();
  await smtp.stop(); // a port where nothing listens any more
  const r = await cliInProcess(migrated, { SMTP_URL: `smtp://shop-mailer:s3cret-Pa55@127.0.0.1:${smtp.port}` })(['doctor', '--json']);
  t.is(r.code, 1, r.stderr);
  const mail = find(JSON.parse(r.stdout) as Check[], 'mail');
  t.is(mail.status, 'fail');
  t.regex(mail.detail, new RegExp(`^cannot use smtp://127\\.0\\.0\\.1:${smtp.port}: .*ECONNREFUSED`));
  t.notRegex(r.stdout + r.stderr, /s3cret|shop-mailer/);

  const table = await cliInProcess(migrated, { SMTP_URL: `smtp://shop-mailer:s3cret-Pa55@127.0.0.1:${smtp.port}` })(['doctor']);
  t.is(table.code, 1);
  t.regex(table.stdout, /│ mail\s+│ fail/);
  t.notRegex(table.stdout + table.stderr, /s3cret|shop-mailer/);
});
