/**
 * A fresh database per test file, on the dialect chosen by TEST_DB:
 *   TEST_DB=sqlite (default)  a new SQLite file in the OS temp directory
 *   TEST_DB=mysql             a new database on TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306)
 * The schema is migrated; the database is dropped when the file's tests end.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { parseDatabaseUrl, type DatabaseConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/connection.js';
import { PROJECT_ROOT } from '../../src/paths.js';

export const dialect: 'sqlite' | 'mysql' = process.env.TEST_DB === 'mysql' ? 'mysql' : 'sqlite';
const mysqlServer = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
/** The tests' DB_TIMEOUT_MS (env.mjs: generous), for the databases made here as for the app's. */
const dbOptions = { timeoutMs: Number(process.env.DB_TIMEOUT_MS) || undefined };

export interface TestDatabase {
  /** DATABASE_URL for child processes (CLI, server). */
  url: string;
  config: DatabaseConfig;
  db: Db;
  dialect: 'sqlite' | 'mysql';
  /** Closes the pool and removes the database. */
  drop(): Promise<void>;
}

/** The MariaDB server itself (TEST_MYSQL_URL without a database). */
function mysqlServerConfig() {
  const c = parseDatabaseUrl(`${mysqlServer.replace(/\/$/, '')}/mysql`);
  if (c.client !== 'mysql') throw new Error('TEST_MYSQL_URL must be a mysql:// URL');
  return c;
}

/** Runs one statement on the server with a short-lived connection of its own. */
async function asAdmin(sql: string): Promise<void> {
  const c = mysqlServerConfig();
  const admin = knexFactory({ client: 'mysql2', connection: { host: c.host, port: c.port, user: c.user, password: c.password } });
  try {
    await admin.raw(sql);
  } finally {
    await admin.destroy();
  }
}

export interface MariaDatabase extends TestDatabase {
  name: string;
  host: string;
  port: number;
}

/**
 * A fresh MariaDB database (migrated unless `migrate: false`), whatever TEST_DB says: for the
 * tests that need a database server to lose (health), a real deadlock, or a MySQL-only behaviour
 * (refusing to start with pending migrations). Dropped by drop().
 */
export async function createMariaDatabase(opts: { migrate?: boolean } = {}): Promise<MariaDatabase> {
  const server = mysqlServerConfig();
  const name = `ws_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await asAdmin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const url = `${mysqlServer.replace(/\/$/, '')}/${name}`;
  const config = parseDatabaseUrl(url);
  const db = createDb(config, dbOptions);
  if (opts.migrate !== false) await db.migrate.latest();
  return {
    name,
    url,
    host: server.host,
    port: server.port,
    config,
    db,
    dialect: 'mysql',
    async drop() {
      await db.destroy();
      await asAdmin(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

/** Creates an empty database (no schema). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  if (dialect === 'mysql') return createMariaDatabase({ migrate: false });
  const name = `ws_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const file = path.join(os.tmpdir(), `${name}.sqlite`);
  const url = `sqlite:${file}`;
  const config = parseDatabaseUrl(url);
  const db = createDb(config, dbOptions);
  return {
    url,
    config,
    db,
    dialect,
    async drop() {
      await db.destroy();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    },
  };
}

/** A fresh, migrated database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const t = await createEmptyDatabase();
  await t.db.migrate.latest();
  return t;
}

/**
 * Another writer holding the database's write lock for `ms`, with `sql` run in its transaction
 * (committed when it lets go). On SQLite a separate process: better-sqlite3 waits for a lock
 * synchronously, so a holder in this process could never let go while this one waits. On
 * MariaDB a transaction on a connection of its own. Resolves once the lock is held.
 */
export async function holdWriteLock(
  database: TestDatabase,
  opts: { ms: number; sql: string; bindings?: (string | number)[] },
): Promise<{ released: Promise<void> }> {
  const bindings = opts.bindings ?? [];
  if (database.config.client === 'sqlite') {
    const script = `
      const [file, sql, bindings, ms] = process.argv.slice(1);
      const db = new (require('better-sqlite3'))(file, { timeout: 5000 });
      db.exec('BEGIN IMMEDIATE');
      db.prepare(sql).run(...JSON.parse(bindings));
      process.stdout.write('held\\n');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(ms));`;
    const child = spawn(process.execPath, ['-e', script, database.config.filename, opts.sql, JSON.stringify(bindings), String(opts.ms)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const released = new Promise<void>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited ${code}`)))),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`lock holder exited ${code} before taking the lock`)));
    });
    return { released };
  }
  const other = createDb(database.config);
  const holder = await other.transaction();
  await holder.raw(opts.sql, bindings);
  const released = new Promise<void>((r) => setTimeout(r, opts.ms)).then(() => holder.commit()).then(() => other.destroy());
  return { released };
}
