/**
 * Bench plumbing: a fresh store served by the real `watchstore serve` (compiled, NODE_ENV=production,
 * logging at warn), a bare node:http baseline, and autocannon runs reduced to the figures we track.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { parseDatabaseUrl } from '../src/config.js';
import { createDb, type Db } from '../src/db/connection.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { freePort } from '../test/helpers/cluster.js';

export const ROOT = PROJECT_ROOT;
export const BIN = path.join(ROOT, 'bin', 'watchstore.js');
/**
 * What `npm start` gives the server (package.json's start script, `[NAME=value ...] node [--flags]
 * bin/watchstore.js serve`): its environment variables (START_ENV, in every bench server's
 * environment through storeEnv) and its Node flags. The bench runs what a shop runs.
 */
const START = (() => {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^((?:[A-Z_]+=\S+\s+)*)node((?:\s+--\S+)*)\s+bin\/watchstore\.js serve$/.exec(start);
  if (!m) throw new Error(`package.json's start script is not "[NAME=value ...] node [--flags] bin/watchstore.js serve": ${start}`);
  const words = (s: string) => s.trim().split(/\s+/).filter(Boolean);
  return { env: Object.fromEntries(words(m[1]).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])), flags: words(m[2]) };
})();
export const START_ENV: Record<string, string> = START.env;
export const START_NODE_FLAGS: string[] = START.flags;
const MYSQL_SERVER = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export type Figures = {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
  duration_s: number;
  /** Answers by HTTP status. */
  status?: Record<string, number>;
};

async function waitFor(url: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export type CacheCounts = { hits: number; misses: number };

export interface Store {
  url: string;
  databaseUrl: string;
  env: Record<string, string>;
  /** Resident set size of the server process, in MB (Linux /proc). */
  rssMb(): number;
  /** The catalog cache's hits and misses so far, read through bench/cache-probe.mjs. */
  cacheCounts(): Promise<CacheCounts>;
  stop(): Promise<void>;
}

/** The bench servers' environment: `npm start`'s variables, production, logging at warn, generous sign-in limits, no Redis. */
export function storeEnv(databaseUrl: string, workDir: string, extraEnv: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...START_ENV,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    ACCESS_TOKEN_SECRET: `bench-access-${randomBytes(24).toString('hex')}`,
    REFRESH_TOKEN_SECRET: `bench-refresh-${randomBytes(24).toString('hex')}`,
    COOKIE_SECURE: 'false',
    // The sign-in scenario signs in continuously from one address on purpose; the limits are
    // raised so it measures bcrypt's cost, not the limiter's refusals.
    RATE_LIMIT_SIGNIN_PER_IP: '1000000',
    RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '1000000',
    RATE_LIMIT_SIGNUP_PER_IP: '1000000',
    // The outbox worker runs as in production; the e-mails it writes go to the run's own directory.
    MAIL_DIR: path.join(workDir, 'mail'),
    ...extraEnv,
  };
  delete env.REDIS_URL;
  return env;
}

/** `watchstore migrate` and `watchstore seed` (the sample catalog) with this environment. */
export function migrateAndSeed(env: Record<string, string>): void {
  for (const args of [['migrate'], ['seed']]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`watchstore ${args.join(' ')} failed: ${r.stderr}`);
  }
}

/** A new, empty MariaDB database on BENCH_MYSQL_URL: its URL and how to drop it. */
export async function freshMariaDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ws_bench_${randomBytes(4).toString('hex')}`;
  await asAdmin(`CREATE DATABASE \`${name}\``);
  return { url: `${MYSQL_SERVER}/${name}`, drop: () => asAdmin(`DROP DATABASE IF EXISTS \`${name}\``) };
}

/**
 * A fresh, migrated, seeded store served by `watchstore serve`; or, given `sameDatabaseAs`, one
 * more server on that store's database (with its own `extraEnv`), which leaves the database alone
 * when it stops.
 */
export async function startStore(
  opts: { mysql?: boolean; extraEnv?: Record<string, string>; nodeArgs?: string[]; sameDatabaseAs?: Store } = {},
): Promise<Store> {
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  const probeDir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-probe-'));
  const probeFile = path.join(probeDir, 'cache.json');
  if (opts.sameDatabaseAs) {
    databaseUrl = opts.sameDatabaseAs.databaseUrl;
    cleanup = async () => {};
  } else if (opts.mysql) {
    const database = await freshMariaDatabase();
    databaseUrl = database.url;
    cleanup = database.drop;
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-bench-'));
    databaseUrl = `sqlite:${path.join(dir, 'store.sqlite')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const port = await freePort();
  const env = storeEnv(databaseUrl, probeDir, { BENCH_PROBE_FILE: probeFile, ...opts.extraEnv });
  if (!opts.sameDatabaseAs) migrateAndSeed(env);
  const probe = `--import=${pathToFileURL(path.join(ROOT, 'bench', 'cache-probe.mjs')).href}`;
  const server = spawn(process.execPath, [...START_NODE_FLAGS, probe, ...(opts.nodeArgs ?? []), BIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/api/health`);
  return {
    url,
    databaseUrl,
    env,
    rssMb() {
      const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round((kb / 1024) * 10) / 10;
    },
    async cacheCounts() {
      rmSync(probeFile, { force: true });
      server.kill('SIGUSR2');
      for (let i = 0; i < 100 && !existsSync(probeFile); i++) await new Promise((r) => setTimeout(r, 50));
      return JSON.parse(readFileSync(probeFile, 'utf8')) as CacheCounts;
    },
    async stop() {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
      rmSync(probeDir, { recursive: true, force: true });
      await cleanup();
    },
  };
}

/** Runs one statement on the MariaDB server (BENCH_MYSQL_URL) on a connection of its own. */
async function asAdmin(sql: string): Promise<void> {
  const admin = createDb(parseDatabaseUrl(`${MYSQL_SERVER}/mysql`));
  try {
    await admin.raw(sql);
  } finally {
    await admin.destroy();
  }
}

/** A connection pool to the store's database, for setting up and checking a scenario. */
export function dbOf(store: Store): Db {
  return createDb(parseDatabaseUrl(store.databaseUrl));
}

/** A bare node:http server sending `body` with `headers`, in its own process. */
export async function startBare(headers: Record<string, string>, body: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const file = path.join(os.tmpdir(), `ws-bare-${port}.json`);
  writeFileSync(file, JSON.stringify({ headers, body }));
  const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'bare-server.mjs'), String(port), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url);
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(file, { force: true });
    },
  };
}

/** The headers a response carried, minus the ones that differ per request or per connection. */
export function stableHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!['date', 'connection', 'keep-alive', 'transfer-encoding', 'x-request-id'].includes(k)) out[k] = v;
  });
  return out;
}

export type CannonOptions = Parameters<typeof autocannon>[0];

export async function cannon(opts: CannonOptions): Promise<Figures> {
  const defaults = opts.amount ? { connections: 50 } : { connections: 50, duration: 10 };
  const result = await autocannon({ ...defaults, ...opts });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    status: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, v]) => [code, (v as { count: number }).count])),
    non2xx: result.non2xx,
    requests: result.requests.total,
    duration_s: Math.round(result.duration * 10) / 10,
  };
}

/** Mean wall time of a command over `runs` runs, in ms. */
export function meanRunMs(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', env: { ...process.env, DATABASE_URL: 'mysql://root@127.0.0.1:1/none' } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    if (i >= 2) times.push(ms); // the first two warm the disk cache
  }
  times.sort((a, b) => a - b);
  const trimmed = times.slice(0, Math.max(1, Math.ceil(times.length * 0.8)));
  return Math.round((trimmed.reduce((a, b) => a + b, 0) / trimmed.length) * 10) / 10;
}
