/**
 * Outbox wake-ups over Redis (src/outbox/redis-wakeups.ts) between real server processes (the
 * compiled CLI: run `npm run build` first) on one database, with a poll interval of ten minutes,
 * so only a wake-up can make a message leave promptly. Server A runs no worker
 * (OUTBOX_WORKER=false); B's worker must send what a request on A queued. E-mails go to a real
 * SMTP server in this process; the message is a password-reset e-mail, queued by
 * POST /api/auth/password-reset in its transaction. Each test has its own channel prefix; the
 * Redis-down tests reach Redis through a TCP proxy they can cut.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Db } from '../../src/db/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type LogLine, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { createUser } from '../helpers/services.js';
import { startSmtp } from '../helpers/smtp.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const REDIS = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const run = randomBytes(3).toString('hex');
let seq = 0;

let database: TestDatabase;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(() => database?.drop());

/** A new user with an e-mail address, for a reset request to queue a message for. */
async function account(db: Db): Promise<string> {
  const name = `wake${run}_${++seq}`;
  await createUser(db, { username: name, email: `${name}@example.com`, password: 'correct horse 1' });
  return `${name}@example.com`;
}

async function requestReset(server: ServerProcess, email: string): Promise<void> {
  const res = await fetch(`${server.url}/api/auth/password-reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: email }),
  });
  if (res.status !== 202) throw new Error(`reset request: ${res.status} ${await res.text()}`);
}

const said = (text: string) => (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith(text);
const outage = (role: string) => (l: LogLine) => said('outbox wake-ups: Redis unavailable')(l) && l.role === role;

async function servers(t: import('ava').ExecutionContext, env: Record<string, string>) {
  const a = await startServerProcess({ env: { ...env, OUTBOX_WORKER: 'false' } });
  t.teardown(() => a.kill());
  const b = await startServerProcess({ env });
  t.teardown(() => b.kill());
  return { a, b };
}

test.serial('when a message is queued on an instance without a worker, then another instance’s worker sends it at once, woken over Redis', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const prefix = `watchstore-test:${run}:wake`;
  const env = { DATABASE_URL: database.url, SMTP_URL: smtp.url, OUTBOX_POLL_MS: '600000', REDIS_URL: REDIS.href, REDIS_PREFIX: prefix };
  const { a, b } = await servers(t, env);
  await a.waitForLine(said('outbox wake-ups: publishing on'));
  await b.waitForLine(said('outbox wake-ups: subscribed to'));

  const to = await account(database.db);
  await requestReset(a, to);
  const [mail] = await smtp.waitFor(1, 30_000);
  t.deepEqual(mail.envelopeTo, [to]);
  t.false(a.lines.some(said('outbox wake-ups: Redis unavailable')), 'no outage was logged');
});

test.serial(
  'when Redis goes away, then requests still succeed, each process logs the outage once, and what was queued meanwhile is sent once Redis is back',
  async (t) => {
    const smtp = await startSmtp();
    t.teardown(() => smtp.stop());
    const proxy = await startTcpProxy({ host: REDIS.hostname, port: Number(REDIS.port || 6379) });
    t.teardown(() => proxy.close());
    const prefix = `watchstore-test:${run}:down`;
    const env = {
      DATABASE_URL: database.url,
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: '600000',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_PREFIX: prefix,
    };
    const { a, b } = await servers(t, env);
    await a.waitForLine(said('outbox wake-ups: publishing on'));
    await b.waitForLine(said('outbox wake-ups: subscribed to'));

    await proxy.stop();
    await a.waitForLine(outage('publisher'));
    await b.waitForLine(outage('subscriber'));
    const first = await account(database.db);
    const second = await account(database.db);
    await requestReset(a, first);
    await requestReset(a, second);
    t.is(a.lines.filter(outage('publisher')).length, 1, 'the publisher logged the outage once');
    t.is(b.lines.filter(outage('subscriber')).length, 1, 'the subscriber logged the outage once');

    await proxy.start();
    await b.waitForLine(said('outbox wake-ups: Redis is back'));
    const mails = await smtp.waitFor(2, 30_000);
    t.deepEqual(mails.map((m) => m.envelopeTo[0]).sort(), [first, second].sort());
  },
);

test.serial('when REDIS_URL names a port where nothing listens, then the server starts, answers, and its own worker still sends at once', async (t) => {
  const smtp = await startSmtp();
  t.teardown(() => smtp.stop());
  const server = await startServerProcess({
    env: {
      DATABASE_URL: database.url,
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: '600000',
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_PREFIX: `watchstore-test:${run}:closed`,
    },
  });
  t.teardown(() => server.kill());
  await server.waitForLine(outage('publisher'));
  const to = await account(database.db);
  await requestReset(server, to);
  const [mail] = await smtp.waitFor(1, 30_000);
  t.deepEqual(mail.envelopeTo, [to]);
  t.is(server.lines.filter(outage('publisher')).length, 1);
});
