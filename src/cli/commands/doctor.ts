/**
 * `watchstore doctor`: configuration, database, migrations, secrets, Stripe, Redis and mail, in
 * one table. Exit 1 when a check fails (the store cannot run as configured); warnings exit 0.
 * An invalid configuration is not a table row: it stops like every command, with exit 2.
 */
import type { Config } from '../../config.js';
import { pingDb } from '../../db/ping.js';
import { cliConfig } from '../context.js';
import { listMigrations, openDb } from '../db.js';
import { isDatabaseUnavailable } from '../../db/errors.js';
import { describeDatabase, describeRedisUrl } from '../describe.js';
import { createMailer } from '../../mail/mailer.js';
import { ui } from '../ui.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
}

const REDIS_TIMEOUT_MS = 2000;
const SMTP_TIMEOUT_MS = 5000;

export async function doctor(): Promise<number> {
  const config = await cliConfig();
  const checks: Check[] = [
    {
      check: 'config',
      status: 'ok',
      detail: `NODE_ENV=${config.env}, currency ${config.currency}, images in ${config.imagesDir}`,
    },
  ];

  const reachable = await checkDatabase(config, checks);
  if (reachable) await checkMigrations(checks);
  else checks.push({ check: 'migrations', status: 'skip', detail: 'database not reachable' });
  checks.push(checkSecrets(config));
  checks.push(...checkStripe(config));
  checks.push(await checkRedis(config));
  checks.push(await checkMail(config));

  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  await ui.result(checks, async () => {
    const paint: Record<CheckStatus, (s: string) => string> = {
      ok: ui.style.green,
      warn: ui.style.yellow,
      fail: ui.style.red,
      skip: ui.style.dim,
    };
    await ui.table(
      ['Check', 'Status', 'Detail'],
      checks.map((c) => [c.check, paint[c.status](c.status), c.detail]),
    );
    if (failed > 0) ui.print(ui.style.red(`${failed} check${failed === 1 ? '' : 's'} failed.`));
    else ui.print(ui.style.green(`All checks passed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.`));
  });
  return failed > 0 ? 1 : 0;
}

async function checkDatabase(config: Config, checks: Check[]): Promise<boolean> {
  const where = describeDatabase(config.database);
  const db = await openDb();
  try {
    await pingDb(db);
    checks.push({ check: 'database', status: 'ok', detail: where });
    return true;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const reason = isDatabaseUnavailable(err) && e.code ? e.code : String(e.message ?? err).split('\n')[0];
    checks.push({ check: 'database', status: 'fail', detail: `cannot reach ${where}: ${reason}` });
    return false;
  }
}

async function checkMigrations(checks: Check[]): Promise<void> {
  const db = await openDb();
  try {
    const { applied, pending } = await listMigrations(db);
    if (pending.length === 0) {
      checks.push({ check: 'migrations', status: 'ok', detail: `${applied.length} applied, none pending` });
    } else {
      checks.push({
        check: 'migrations',
        status: 'fail',
        detail: `${pending.length} pending (${pending.join(', ')}): run \`watchstore migrate\``,
      });
    }
  } catch (err) {
    checks.push({ check: 'migrations', status: 'fail', detail: String((err as Error).message ?? err).split('\n')[0] });
  }
}

function checkSecrets(config: Config): Check {
  const check = 'token secrets';
  if (config.generatedSecrets.length > 0) {
    return {
      check,
      status: 'warn',
      detail: `${config.generatedSecrets.join(' and ')} not set: generated for this process, so sign-ins end at every restart`,
    };
  }
  const weak = [config.accessTokenSecret.length < 32 && 'ACCESS_TOKEN_SECRET', config.refreshTokenSecret.length < 32 && 'REFRESH_TOKEN_SECRET'].filter(Boolean);
  if (weak.length > 0) return { check, status: 'warn', detail: `${weak.join(' and ')} shorter than 32 characters` };
  if (config.accessTokenSecret === config.refreshTokenSecret) {
    return { check, status: 'warn', detail: 'ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET are the same' };
  }
  return { check, status: 'ok', detail: 'both set, at least 32 characters' };
}

/** Presence only: doctor never calls Stripe. */
function checkStripe(config: Config): Check[] {
  const key = config.stripeSecretKey;
  const mode =
    key?.startsWith('sk_live_') || key?.startsWith('rk_live_')
      ? 'live mode'
      : key?.startsWith('sk_test_') || key?.startsWith('rk_test_')
        ? 'test mode'
        : 'unrecognised prefix';
  const base = config.stripeApiBase ? `, API at ${config.stripeApiBase}` : '';
  return [
    key
      ? { check: 'stripe', status: 'ok', detail: `STRIPE_SECRET_KEY set (${mode}${base})` }
      : { check: 'stripe', status: 'warn', detail: 'STRIPE_SECRET_KEY not set: checkout answers 503 PAYMENTS_UNAVAILABLE' },
    config.stripeWebhookSecret
      ? { check: 'stripe webhook', status: 'ok', detail: 'STRIPE_WEBHOOK_SECRET set' }
      : { check: 'stripe webhook', status: 'warn', detail: 'STRIPE_WEBHOOK_SECRET not set: the webhook answers 503' },
  ];
}

async function checkRedis(config: Config): Promise<Check> {
  if (!config.redisUrl) return { check: 'redis', status: 'ok', detail: 'not configured: rate limits are kept in memory, per process' };
  const where = describeRedisUrl(config.redisUrl);
  const { Redis } = await import('ioredis');
  const client = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The socket's own error (ECONNREFUSED…) says more than the rejected connect() ("Connection is closed").
  let socketError: { code?: string; message?: string } | undefined;
  client.on('error', (err: { code?: string; message?: string }) => {
    socketError ??= err;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
    });
    const pong = await Promise.race([client.connect().then(() => client.ping()), timeout]);
    return { check: 'redis', status: 'ok', detail: `${where} answered ${pong}` };
  } catch (err) {
    const e = socketError ?? (err as { code?: string; message?: string });
    return { check: 'redis', status: 'fail', detail: `cannot reach ${where}: ${e.code ?? String(e.message ?? err).split('\n')[0]}` };
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/**
 * With SMTP_URL: connects, greets and logs in (nodemailer's verify), no message sent. The detail
 * names the server without its credentials, and a server's answer is scrubbed of them too.
 */
async function checkMail(config: Config): Promise<Check> {
  const { smtpUrl, dir } = config.mail;
  if (!smtpUrl) {
    // Fine for trying the shop; in production no customer would hear from it.
    return { check: 'mail', status: config.env === 'production' ? 'warn' : 'ok', detail: `SMTP_URL not set: e-mails are written as .eml files under ${dir}` };
  }
  const mailer = createMailer(config.mail);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${SMTP_TIMEOUT_MS} ms`)), SMTP_TIMEOUT_MS);
    });
    await Promise.race([mailer.verify(), timeout]);
    return { check: 'mail', status: 'ok', detail: `${mailer.target} answered${new URL(smtpUrl).username ? ' and accepted the login' : ''}` };
  } catch (err) {
    return {
      check: 'mail',
      status: 'fail',
      detail: `cannot use ${mailer.target}: ${withoutCredentials(String((err as Error).message ?? err).split('\n')[0], smtpUrl)}`,
    };
  } finally {
    clearTimeout(timer);
    mailer.close();
  }
}

function withoutCredentials(text: string, url: string): string {
  const u = new URL(url);
  const secrets = [u.username, u.password, decodeURIComponent(u.username), decodeURIComponent(u.password)].filter((s) => s.length >= 3);
  return secrets.reduce((t, s) => t.replaceAll(s, '***'), text);
}
