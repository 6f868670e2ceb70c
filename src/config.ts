/**
 * The one place that reads process.env. The environment (and a `.env` file in the working
 * directory, loaded with Node's own loader) is validated once; an invalid variable stops the
 * process with one line naming it.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_DATA_DIR, DEFAULT_IMAGES_DIR } from './paths.js';

export type DatabaseConfig =
  | { client: 'sqlite'; filename: string }
  | {
      client: 'mysql';
      host: string;
      port: number;
      user: string;
      password: string;
      database: string;
    };

export interface Config {
  env: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  database: DatabaseConfig;
  /** DB_TIMEOUT_MS: the longest a request waits on the database for one step before it answers 503. */
  dbTimeoutMs: number;
  accessTokenSecret: string;
  refreshTokenSecret: string;
  /** Which of the token secrets were generated for this process only. */
  generatedSecrets: string[];
  bcryptCost: number;
  stripeSecretKey?: string;
  stripeWebhookSecret?: string;
  stripeApiBase?: string;
  currency: string;
  corsOrigins: string[];
  trustProxy: boolean;
  cookieSecure: boolean;
  redisUrl?: string;
  logLevel: string;
  imagesDir: string;
  rateLimits: {
    signinPerIp: number;
    signinPerIpLogin: number;
    signupPerIp: number;
    refreshPerIp: number;
    windowMs: number;
  };
  /** Key prefix of the rate-limit counters in Redis (instances sharing a budget share it). */
  rateLimitPrefix?: string;
  /** Prefix of the Redis pub/sub channels (REDIS_PREFIX): the instances of one store share it. */
  redisPrefix: string;
  orderHoldMinutes: number;
  /** The shop's frontend (STORE_URL): hosted checkout returns to <store>/success or <store>/cancel. */
  storeUrl: string;
  /** Shipping cost of an order in minor units, and the subtotal from which it is free (if any). */
  shipping: { flatCents: number; freeOverCents?: number };
  /** Countries (ISO-2) Stripe's hosted page lets a customer ship to. */
  shippingCountries: string[];
  /** How long a just-rotated refresh token still returns its successor instead of counting as reuse. */
  refreshReuseGraceSeconds: number;
  /** Path prefix of the old backend's API (src/http/legacy/), e.g. `/legacy`; undefined = off. */
  legacyApiPrefix?: string;
  /** Limits of the HTTP server against slow or too many clients (server.ts). */
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
  };
  /** How long /api/health trusts its last look at the migrations table (ms; 0: every request). */
  schemaCheckIntervalMs: number;
  /** The shop's name (STORE_NAME), in e-mails. */
  storeName: string;
  /** Outgoing e-mail: SMTP when smtpUrl is set, else one .eml file per message under `dir`. */
  mail: { smtpUrl?: string; from: string; dir: string };
  /** The outbox's delivery worker (docs/data.md, "outbox"). */
  outbox: {
    /** Whether `watchstore serve` runs a worker in the server process (OUTBOX_WORKER). */
    workerInServe: boolean;
    pollMs: number;
    leaseMs: number;
    batchSize: number;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
  };
  /** How long an outgoing webhook request may take before it counts as failed. */
  webhookTimeoutMs: number;
  /** How long a password-reset token is valid. */
  passwordResetMinutes: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );
const nonEmpty = z.string().min(1, { message: 'must not be empty' });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).optional(),
  PORT: int(0, 65535).optional(),
  HOST: nonEmpty.optional(),
  DATABASE_URL: nonEmpty.optional(),
  DB_HOST: nonEmpty.optional(),
  DB_PORT: int(1, 65535).optional(),
  DB_USER: nonEmpty.optional(),
  DB_PASSWORD: z.string().optional(),
  DB_NAME: nonEmpty.optional(),
  DB_TIMEOUT_MS: int(100, 600_000).optional(),
  ACCESS_TOKEN_SECRET: nonEmpty.optional(),
  REFRESH_TOKEN_SECRET: nonEmpty.optional(),
  BCRYPT_COST: int(4, 15).optional(),
  STRIPE_SECRET_KEY: nonEmpty.optional(),
  STRIPE_WEBHOOK_SECRET: nonEmpty.optional(),
  STRIPE_API_BASE: z.url({ message: 'must be a URL such as http://127.0.0.1:12111' }).optional(),
  STORE_CURRENCY: z
    .string()
    .regex(/^[A-Za-z]{3}$/, { message: 'must be a three-letter ISO currency code such as usd' })
    .transform((s) => s.toLowerCase())
    .optional(),
  CORS_ORIGINS: z.string().optional(),
  TRUST_PROXY: bool.optional(),
  COOKIE_SECURE: bool.optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' })
    .optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be a pino level (fatal, error, warn, info, debug, trace, silent)' })
    .optional(),
  IMAGES_DIR: nonEmpty.optional(),
  DATA_DIR: nonEmpty.optional(),
  RATE_LIMIT_SIGNIN_PER_IP: int(1, 1_000_000).optional(),
  RATE_LIMIT_SIGNIN_PER_IP_LOGIN: int(1, 1_000_000).optional(),
  RATE_LIMIT_SIGNUP_PER_IP: int(1, 1_000_000).optional(),
  RATE_LIMIT_REFRESH_PER_IP: int(1, 1_000_000).optional(),
  RATE_LIMIT_WINDOW_MS: int(1000, 86_400_000).optional(),
  RATE_LIMIT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,100}$/, { message: 'must be 1 to 100 letters, digits or : . _ -' })
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,100}$/, { message: 'must be 1 to 100 letters, digits or : . _ -' })
    .optional(),
  ORDER_HOLD_MINUTES: int(1, 100_000).optional(),
  STORE_URL: z
    .url({ message: 'must be a URL such as https://shop.example.com' })
    .regex(/^https?:\/\//, { message: 'must start with http:// or https://' })
    .optional(),
  SHIPPING_FLAT_CENTS: int(0, 100_000_000).optional(),
  FREE_SHIPPING_OVER_CENTS: int(0, 100_000_000).optional(),
  SHIPPING_COUNTRIES: z
    .string()
    .regex(/^\s*[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*\s*$/, { message: 'must be two-letter ISO country codes separated by commas, such as US,CA,GB' })
    .optional(),
  REFRESH_REUSE_GRACE_SECONDS: int(0, 3600).optional(),
  LEGACY_API_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9._-]+)+$/, { message: 'must be a path such as /legacy (no trailing slash)' })
    .refine((p) => p !== '/api' && !p.startsWith('/api/'), { message: 'must not be /api or under it' })
    .optional(),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 3_600_000).optional(),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).optional(),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100, 3_600_000).optional(),
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000).optional(),
  SCHEMA_CHECK_INTERVAL_MS: int(0, 3_600_000).optional(),
  STORE_NAME: z.string().min(1, { message: 'must not be empty' }).max(100, { message: 'must be at most 100 characters' }).optional(),
  SMTP_URL: z
    .url({ message: 'must be a URL such as smtp://user:pass@mail.example.com:587' })
    .regex(/^smtps?:\/\//, { message: 'must start with smtp:// or smtps://' })
    .optional(),
  MAIL_FROM: nonEmpty.optional(),
  MAIL_DIR: nonEmpty.optional(),
  OUTBOX_WORKER: bool.optional(),
  OUTBOX_POLL_MS: int(10, 3_600_000).optional(),
  OUTBOX_LEASE_MS: int(1000, 86_400_000).optional(),
  OUTBOX_BATCH_SIZE: int(1, 1000).optional(),
  OUTBOX_MAX_ATTEMPTS: int(1, 100).optional(),
  OUTBOX_RETRY_BASE_MS: int(10, 86_400_000).optional(),
  OUTBOX_RETRY_MAX_MS: int(10, 604_800_000).optional(),
  WEBHOOK_TIMEOUT_MS: int(100, 600_000).optional(),
  PASSWORD_RESET_MINUTES: int(1, 1440).optional(),
});

/** Every environment variable loadConfig reads (`.env.example` documents each one). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!filename) throw new ConfigError('DATABASE_URL', 'must name a file, as in sqlite:./data/watchstore.sqlite');
    return { client: 'sqlite', filename };
  }
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid URL');
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!database) throw new ConfigError('DATABASE_URL', 'must name a database, as in mysql://user:pass@host:3306/watchstore');
    return {
      client: 'mysql',
      host: u.hostname || '127.0.0.1',
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database,
    };
  }
  throw new ConfigError('DATABASE_URL', 'must start with sqlite: or mysql://');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const nodeEnv = e.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';

  let database: DatabaseConfig;
  if (e.DATABASE_URL) database = parseDatabaseUrl(e.DATABASE_URL);
  else if (e.DB_HOST || e.DB_NAME) {
    if (!e.DB_NAME) throw new ConfigError('DB_NAME', 'must be set when DB_HOST is set');
    database = {
      client: 'mysql',
      host: e.DB_HOST ?? '127.0.0.1',
      port: e.DB_PORT ?? 3306,
      user: e.DB_USER ?? 'root',
      password: e.DB_PASSWORD ?? '',
      database: e.DB_NAME,
    };
  } else {
    // Against the installation (or DATA_DIR), never the working directory: run from elsewhere,
    // the CLI must find the same store (docs/cli.md).
    database = { client: 'sqlite', filename: path.join(path.resolve(e.DATA_DIR ?? DEFAULT_DATA_DIR), 'watchstore.sqlite') };
  }

  const generatedSecrets: string[] = [];
  const secret = (name: 'ACCESS_TOKEN_SECRET' | 'REFRESH_TOKEN_SECRET'): string => {
    const value = e[name];
    if (value !== undefined) {
      if (isProduction && value.length < 32) throw new ConfigError(name, 'must be at least 32 characters in production');
      return value;
    }
    if (isProduction) throw new ConfigError(name, 'must be set in production (at least 32 characters)');
    generatedSecrets.push(name);
    return randomBytes(32).toString('hex');
  };

  const headersTimeoutMs = e.HTTP_HEADERS_TIMEOUT_MS ?? 10_000;
  const requestTimeoutMs = e.HTTP_REQUEST_TIMEOUT_MS ?? 30_000;
  // Node refuses a headers timeout longer than the request timeout.
  if (headersTimeoutMs > requestTimeoutMs)
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `must not be more than HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);

  // A claimed webhook is held for the lease; one still waiting for its receiver when the lease ends
  // is claimed and sent again by another worker. Half the lease leaves room for the batch's writes.
  const leaseMs = e.OUTBOX_LEASE_MS ?? 60_000;
  const webhookTimeoutMs = e.WEBHOOK_TIMEOUT_MS ?? 10_000;
  if (webhookTimeoutMs * 2 > leaseMs) throw new ConfigError('WEBHOOK_TIMEOUT_MS', `must be at most half of OUTBOX_LEASE_MS (${leaseMs})`);

  return {
    env: nodeEnv,
    isProduction,
    port: e.PORT ?? 3000,
    host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    database,
    dbTimeoutMs: e.DB_TIMEOUT_MS ?? 5000,
    accessTokenSecret: secret('ACCESS_TOKEN_SECRET'),
    refreshTokenSecret: secret('REFRESH_TOKEN_SECRET'),
    generatedSecrets,
    bcryptCost: e.BCRYPT_COST ?? 12,
    stripeSecretKey: e.STRIPE_SECRET_KEY,
    stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET,
    stripeApiBase: e.STRIPE_API_BASE,
    currency: e.STORE_CURRENCY ?? 'usd',
    corsOrigins: (e.CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    trustProxy: e.TRUST_PROXY ?? false,
    cookieSecure: e.COOKIE_SECURE ?? isProduction,
    redisUrl: e.REDIS_URL,
    // Production logs warnings and errors only (no line per request) unless LOG_LEVEL says otherwise.
    logLevel: e.LOG_LEVEL ?? (isProduction ? 'warn' : 'info'),
    imagesDir: e.IMAGES_DIR ?? DEFAULT_IMAGES_DIR,
    rateLimits: {
      signinPerIp: e.RATE_LIMIT_SIGNIN_PER_IP ?? 10,
      signinPerIpLogin: e.RATE_LIMIT_SIGNIN_PER_IP_LOGIN ?? 5,
      signupPerIp: e.RATE_LIMIT_SIGNUP_PER_IP ?? 5,
      refreshPerIp: e.RATE_LIMIT_REFRESH_PER_IP ?? 30,
      windowMs: e.RATE_LIMIT_WINDOW_MS ?? 60_000,
    },
    rateLimitPrefix: e.RATE_LIMIT_PREFIX,
    redisPrefix: e.REDIS_PREFIX ?? 'watchstore',
    orderHoldMinutes: e.ORDER_HOLD_MINUTES ?? 30,
    storeUrl: (e.STORE_URL ?? `http://localhost:${e.PORT ?? 3000}`).replace(/\/+$/, ''),
    shipping: { flatCents: e.SHIPPING_FLAT_CENTS ?? 0, freeOverCents: e.FREE_SHIPPING_OVER_CENTS },
    shippingCountries: (e.SHIPPING_COUNTRIES ?? 'US').split(',').map((c) => c.trim().toUpperCase()),
    refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS ?? 30,
    legacyApiPrefix: e.LEGACY_API_PREFIX,
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? 5_000,
      maxConnections: e.HTTP_MAX_CONNECTIONS ?? 1000,
    },
    schemaCheckIntervalMs: e.SCHEMA_CHECK_INTERVAL_MS ?? 5000,
    storeName: e.STORE_NAME ?? 'Watchstore',
    mail: {
      smtpUrl: e.SMTP_URL,
      // The name quoted: a STORE_NAME with `<`, `,` or `"` must not become an address of its own.
      from: e.MAIL_FROM ?? `"${(e.STORE_NAME ?? 'Watchstore').replace(/["\\]/g, '\\$&')}" <shop@localhost>`,
      dir: path.resolve(e.MAIL_DIR ?? path.join(e.DATA_DIR ?? DEFAULT_DATA_DIR, 'mail')),
    },
    outbox: {
      workerInServe: e.OUTBOX_WORKER ?? true,
      pollMs: e.OUTBOX_POLL_MS ?? 1000,
      leaseMs,
      batchSize: e.OUTBOX_BATCH_SIZE ?? 20,
      maxAttempts: e.OUTBOX_MAX_ATTEMPTS ?? 10,
      retryBaseMs: e.OUTBOX_RETRY_BASE_MS ?? 30_000,
      retryMaxMs: e.OUTBOX_RETRY_MAX_MS ?? 3_600_000,
    },
    webhookTimeoutMs,
    passwordResetMinutes: e.PASSWORD_RESET_MINUTES ?? 30,
  };
}

let cached: Config | undefined;

/** The process's configuration, read once (after loading `.env` from the working directory). */
export function getConfig(): Config {
  if (!cached) {
    if (existsSync('.env')) process.loadEnvFile('.env');
    cached = loadConfig(process.env);
  }
  return cached;
}

/** Whether verbose error output was asked for (DEBUG=watchstore). */
export function debugEnabled(): boolean {
  return /(^|,)\s*watchstore\s*(,|$)/.test(process.env.DEBUG ?? '');
}
