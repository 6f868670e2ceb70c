import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const ACCESS = 'a'.repeat(32);
const REFRESH = 'r'.repeat(40);

function configError(t: import('ava').ExecutionContext, env: NodeJS.ProcessEnv, variable: string) {
  const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  t.is(err?.variable, variable);
  t.true(err?.message.includes(variable), `message names ${variable}: ${err?.message}`);
  return err;
}

test('when the environment is empty, then the defaults are an embedded SQLite file on 127.0.0.1:3000', (t) => {
  const c = loadConfig({});
  // Against the installation, not the working directory (issue 10, item 9).
  t.deepEqual(c.database, { client: 'sqlite', filename: path.join(PROJECT_ROOT, 'data', 'watchstore.sqlite') });
  t.deepEqual(loadConfig({ DATA_DIR: '/srv/watchstore' }).database, { client: 'sqlite', filename: '/srv/watchstore/watchstore.sqlite' });
  t.is(c.port, 3000);
  t.is(c.host, '127.0.0.1');
  t.is(c.env, 'development');
  t.false(c.isProduction);
  t.is(c.currency, 'usd');
  t.is(c.logLevel, 'info');
  t.false(c.trustProxy);
  t.false(c.cookieSecure);
  t.deepEqual(c.corsOrigins, []);
  t.is(c.stripeSecretKey, undefined);
});

test('when NODE_ENV=production with both secrets, then it listens on 0.0.0.0 with secure cookies', (t) => {
  const c = loadConfig({ NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH });
  t.true(c.isProduction);
  t.is(c.host, '0.0.0.0');
  t.is(c.port, 3000);
  t.true(c.cookieSecure);
  t.is(c.accessTokenSecret, ACCESS);
  t.is(c.refreshTokenSecret, REFRESH);
  t.deepEqual(c.generatedSecrets, []);
});

test('when LOG_LEVEL is not set, then production logs at warn (no line per request) and anything else at info; when set, it wins', (t) => {
  const prod = { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH };
  t.is(loadConfig(prod).logLevel, 'warn');
  t.is(loadConfig({ ...prod, LOG_LEVEL: 'info' }).logLevel, 'info');
  t.is(loadConfig({ NODE_ENV: 'development' }).logLevel, 'info');
});

test('when HOST and PORT are set, then they win over the defaults, in production too', (t) => {
  const c = loadConfig({ NODE_ENV: 'production', HOST: '10.0.0.5', PORT: '8080', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH });
  t.is(c.host, '10.0.0.5');
  t.is(c.port, 8080);
});

test('when DATABASE_URL is a mysql URL, then user, password, host, port and database are read from it', (t) => {
  const c = loadConfig({ DATABASE_URL: 'mysql://shop:s3cret@db.example.com:3307/watchstore' });
  t.deepEqual(c.database, { client: 'mysql', host: 'db.example.com', port: 3307, user: 'shop', password: 's3cret', database: 'watchstore' });
});

test('when the DATABASE_URL password is url-encoded, then it is decoded', (t) => {
  const c = loadConfig({ DATABASE_URL: 'mysql://shop:p%40ss%3Aw%2Frd%23%25@127.0.0.1/watchstore' });
  t.like(c.database, { client: 'mysql', password: 'p@ss:w/rd#%', port: 3306, host: '127.0.0.1', user: 'shop' });
});

test('when DATABASE_URL names a sqlite file or memory, then that is the database', (t) => {
  t.deepEqual(loadConfig({ DATABASE_URL: 'sqlite:./tmp/shop.sqlite' }).database, { client: 'sqlite', filename: './tmp/shop.sqlite' });
  t.deepEqual(parseDatabaseUrl('sqlite::memory:'), { client: 'sqlite', filename: ':memory:' });
});

test('when DATABASE_URL has an unknown scheme or no database, then ConfigError names DATABASE_URL', (t) => {
  configError(t, { DATABASE_URL: 'postgres://u:p@h/db' }, 'DATABASE_URL');
  configError(t, { DATABASE_URL: 'mysql://root@127.0.0.1:3306/' }, 'DATABASE_URL');
  configError(t, { DATABASE_URL: 'sqlite:' }, 'DATABASE_URL');
});

test('when only the legacy DB_* variables are set, then they configure MySQL', (t) => {
  const c = loadConfig({ DB_HOST: 'legacy-db', DB_PORT: '3310', DB_USER: 'watch', DB_PASSWORD: 'pw', DB_NAME: 'shop' });
  t.deepEqual(c.database, { client: 'mysql', host: 'legacy-db', port: 3310, user: 'watch', password: 'pw', database: 'shop' });
});

test('when only DB_NAME is set, then MySQL on 127.0.0.1:3306 as root is assumed', (t) => {
  const c = loadConfig({ DB_NAME: 'shop' });
  t.deepEqual(c.database, { client: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'shop' });
});

test('when DB_HOST is set without DB_NAME, then ConfigError names DB_NAME', (t) => {
  configError(t, { DB_HOST: 'legacy-db' }, 'DB_NAME');
});

test('when both DATABASE_URL and DB_HOST are set, then DATABASE_URL wins', (t) => {
  const c = loadConfig({ DATABASE_URL: 'mysql://a:b@new-db:3306/new', DB_HOST: 'old-db', DB_NAME: 'old' });
  t.like(c.database, { host: 'new-db', database: 'new' });
});

for (const port of ['abc', '-1', '65536', '80.5', '']) {
  test(`when PORT is ${JSON.stringify(port)}, then ConfigError names PORT`, (t) => {
    configError(t, { PORT: port }, 'PORT');
  });
}

test('when DB_PORT is not a port number, then ConfigError names DB_PORT', (t) => {
  configError(t, { DB_NAME: 'shop', DB_PORT: 'x' }, 'DB_PORT');
});

for (const currency of ['dollars', 'us', '€€€', '12a']) {
  test(`when STORE_CURRENCY is ${JSON.stringify(currency)}, then ConfigError names STORE_CURRENCY`, (t) => {
    configError(t, { STORE_CURRENCY: currency }, 'STORE_CURRENCY');
  });
}

test('when STORE_CURRENCY is an upper-case code, then it is kept lower-cased', (t) => {
  t.is(loadConfig({ STORE_CURRENCY: 'EUR' }).currency, 'eur');
});

test('when LOG_LEVEL is not a pino level, then ConfigError names LOG_LEVEL', (t) => {
  configError(t, { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
  t.is(loadConfig({ LOG_LEVEL: 'silent' }).logLevel, 'silent');
});

test('when NODE_ENV is unknown, then ConfigError names NODE_ENV', (t) => {
  configError(t, { NODE_ENV: 'staging' }, 'NODE_ENV');
});

test('when production has no token secrets, then ConfigError names the missing one', (t) => {
  configError(t, { NODE_ENV: 'production' }, 'ACCESS_TOKEN_SECRET');
  configError(t, { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS }, 'REFRESH_TOKEN_SECRET');
  configError(t, { NODE_ENV: 'production', REFRESH_TOKEN_SECRET: REFRESH }, 'ACCESS_TOKEN_SECRET');
});

test('when a production secret is shorter than 32 characters, then ConfigError names it', (t) => {
  configError(t, { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: 'x'.repeat(31), REFRESH_TOKEN_SECRET: REFRESH }, 'ACCESS_TOKEN_SECRET');
  configError(t, { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: 'short' }, 'REFRESH_TOKEN_SECRET');
});

test('when a production secret is empty, then ConfigError names it', (t) => {
  configError(t, { NODE_ENV: 'production', ACCESS_TOKEN_SECRET: '', REFRESH_TOKEN_SECRET: REFRESH }, 'ACCESS_TOKEN_SECRET');
});

test('when secrets are missing outside production, then random ones are generated and listed in generatedSecrets', (t) => {
  const a = loadConfig({ NODE_ENV: 'development' });
  t.deepEqual(a.generatedSecrets.sort(), ['ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET']);
  t.true(a.accessTokenSecret.length >= 32);
  t.true(a.refreshTokenSecret.length >= 32);
  t.not(a.accessTokenSecret, a.refreshTokenSecret);
  const b = loadConfig({ NODE_ENV: 'development' });
  t.not(a.accessTokenSecret, b.accessTokenSecret, 'a fresh secret per load, never a fixed one');
});

test('when only one secret is given outside production, then only the other is generated', (t) => {
  const c = loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_SECRET: 'short-is-fine-in-test' });
  t.is(c.accessTokenSecret, 'short-is-fine-in-test');
  t.deepEqual(c.generatedSecrets, ['REFRESH_TOKEN_SECRET']);
});

test('when CORS_ORIGINS, TRUST_PROXY and COOKIE_SECURE are set, then they are parsed', (t) => {
  const c = loadConfig({ CORS_ORIGINS: ' https://a.example , https://b.example,', TRUST_PROXY: 'true', COOKIE_SECURE: '0' });
  t.deepEqual(c.corsOrigins, ['https://a.example', 'https://b.example']);
  t.true(c.trustProxy);
  t.false(c.cookieSecure);
  configError(t, { TRUST_PROXY: 'maybe' }, 'TRUST_PROXY');
});

test('when the HTTP limits are set, then they are read, and a headers timeout longer than the request timeout is refused', (t) => {
  const c = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '4000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1500', HTTP_MAX_CONNECTIONS: '7' });
  t.deepEqual(c.http, { headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1500, maxConnections: 7 });
  configError(t, { HTTP_HEADERS_TIMEOUT_MS: '40000' }, 'HTTP_HEADERS_TIMEOUT_MS');
  configError(t, { HTTP_MAX_CONNECTIONS: '0' }, 'HTTP_MAX_CONNECTIONS');
});

test('when an outgoing webhook may take as long as the outbox lease, then the configuration is refused (another worker would send it again meanwhile)', (t) => {
  t.is(loadConfig({ OUTBOX_LEASE_MS: '20000', WEBHOOK_TIMEOUT_MS: '5000' }).webhookTimeoutMs, 5000);
  configError(t, { OUTBOX_LEASE_MS: '5000' }, 'WEBHOOK_TIMEOUT_MS');
  configError(t, { WEBHOOK_TIMEOUT_MS: '60000' }, 'WEBHOOK_TIMEOUT_MS');
});

test('when STORE_NAME holds angle brackets, commas or quotes, then the default MAIL_FROM is still one address with the name as typed', (t) => {
  const name = 'Smith <& Sons>, "Est. 1890"';
  t.deepEqual(addressparser(loadConfig({ STORE_NAME: name }).mail.from), [{ name, address: 'shop@localhost' }]);
});

test('when .env.example is read, then it lists every variable the configuration reads, each on a commented NAME= line', (t) => {
  const example = readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^# ([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  t.true(CONFIG_VARIABLES.length >= 25, 'the schema is really read');
  t.deepEqual(
    CONFIG_VARIABLES.filter((name) => !listed.has(name)),
    [],
  );
  t.true(listed.has('RATE_LIMIT_PREFIX'));
});

test('when .env.example states a default, then it is the default loadConfig uses', (t) => {
  const example = readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  const value = (name: string) => new RegExp(`^# ${name}=(\\S*)`, 'm').exec(example)?.[1];
  const c = loadConfig({});
  t.is(Number(value('PORT')), c.port);
  t.is(value('HOST'), c.host);
  t.is(Number(value('BCRYPT_COST')), c.bcryptCost);
  t.is(value('STORE_CURRENCY'), c.currency);
  t.is(Number(value('ORDER_HOLD_MINUTES')), c.orderHoldMinutes);
  t.is(value('TRUST_PROXY'), String(c.trustProxy));
  t.is(value('COOKIE_SECURE'), String(c.cookieSecure));
  t.is(value('LOG_LEVEL'), c.logLevel);
  t.is(value('RATE_LIMIT_PREFIX'), 'watchstore:ratelimit');
  t.is(Number(value('RATE_LIMIT_WINDOW_MS')), c.rateLimits.windowMs);
  t.is(Number(value('RATE_LIMIT_SIGNIN_PER_IP')), c.rateLimits.signinPerIp);
  t.is(Number(value('RATE_LIMIT_SIGNIN_PER_IP_LOGIN')), c.rateLimits.signinPerIpLogin);
  t.is(Number(value('RATE_LIMIT_SIGNUP_PER_IP')), c.rateLimits.signupPerIp);
  t.is(Number(value('RATE_LIMIT_REFRESH_PER_IP')), c.rateLimits.refreshPerIp);
  t.is(Number(value('HTTP_HEADERS_TIMEOUT_MS')), c.http.headersTimeoutMs);
  t.is(Number(value('HTTP_REQUEST_TIMEOUT_MS')), c.http.requestTimeoutMs);
  t.is(Number(value('HTTP_KEEP_ALIVE_TIMEOUT_MS')), c.http.keepAliveTimeoutMs);
  t.is(Number(value('HTTP_MAX_CONNECTIONS')), c.http.maxConnections);
  t.is(value('DATABASE_URL'), 'sqlite:./data/watchstore.sqlite');
  t.is(value('DATA_DIR'), './data');
  const viaDbName = loadConfig({ DB_NAME: 'x' });
  t.like(viaDbName.database, { host: value('DB_HOST'), port: Number(value('DB_PORT')), user: value('DB_USER'), password: value('DB_PASSWORD') });
});
