/**
 * A fresh database per test file, on the dialect chosen by TEST_DB:
 *   TEST_DB=sqlite (default)  a new SQLite file in the OS temp directory
 *   TEST_DB=mysql             a new database on TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306)
 * The schema is migrated (on MariaDB copied from a migrated template database, see
 * migratedTemplate); the database is dropped when the file's tests end.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { parseDatabaseUrl, type DatabaseConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/connection.js';
import { MIGRATIONS_DIR } from '../../src/db/migration-source.js';
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

/** One short-lived connection of its own, for statements that depend on the session (USE, locks). */
async function withAdminSession<T>(fn: (admin: Knex) => Promise<T>): Promise<T> {
  const c = mysqlServerConfig();
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: c.host, port: c.port, user: c.user, password: c.password },
    pool: { min: 1, max: 1 },
  });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

const TEMPLATE_READY = 'ws_template_ready';

/** A short hash of the migration files (names and contents): a changed migration, a new template. */
function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR).sort()) hash.update(f).update(readFileSync(path.join(MIGRATIONS_DIR, f)));
  return hash.digest('hex').slice(0, 12);
}

/**
 * A migrated SQLite file to copy test databases from (cold, importing and running the migrations
 * costs a test file about 0.3 s). Kept as a cache in node_modules/.cache/watchstore-test (not the
 * system temporary directory), named after the migrations' hash; written under a temporary name
 * and renamed, so concurrent test processes never see half a file.
 */
async function sqliteTemplate(): Promise<string> {
  const cacheDir = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'watchstore-test');
  const file = path.join(cacheDir, `template-${migrationsHash()}.sqlite`);
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const work = path.join(cacheDir, `building-${process.pid}-${randomBytes(4).toString('hex')}`);
  const db = createDb({ client: 'sqlite', filename: `${work}.sqlite` });
  try {
    await db.migrate.latest();
    // One self-contained file (no -wal beside it).
    await db.raw('VACUUM INTO ?', [`${work}.copy`]);
  } finally {
    await db.destroy();
    for (const f of [`${work}.sqlite`, `${work}.sqlite-wal`, `${work}.sqlite-shm`]) rmSync(f, { force: true });
  }
  for (const old of readdirSync(cacheDir))
    if (old.startsWith('template-') && path.join(cacheDir, old) !== file) rmSync(path.join(cacheDir, old), { force: true });
  renameSync(`${work}.copy`, file);
  return file;
}
let templateName: string | undefined;

/**
 * A migrated MariaDB database to copy test databases from: running the migrations takes about
 * 2 s per test file on this server, copying the schema a fraction of that. Named after a hash of
 * the migrations, so a changed migration makes a new template (old ones are dropped after a day); made
 * once, under a server-wide named lock, by whichever test process needs it first.
 */
async function migratedTemplate(): Promise<string> {
  if (templateName) return templateName;
  const name = `ws_template_${migrationsHash()}`;
  await withAdminSession(async (admin) => {
    await admin.raw('SELECT GET_LOCK(?, 120)', ['ws_test_template']);
    try {
      const [ready] = (await admin.raw('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [
        name,
        TEMPLATE_READY,
      ])) as [Array<{ n: number }>];
      if (Number(ready[0].n) > 0) return;
      // Templates of other migration sets may be in use by another checkout's run at this very
      // moment (a branch with a new migration): only those untouched for a day are dropped.
      const [stale] = (await admin.raw(
        "SELECT table_schema AS name FROM information_schema.tables WHERE table_schema LIKE 'ws\\_template\\_%' AND table_name = ? AND create_time < NOW() - INTERVAL 1 DAY",
        [TEMPLATE_READY],
      )) as [Array<{ name: string }>];
      for (const { name: old } of stale) await admin.raw('DROP DATABASE IF EXISTS ??', [old]);
      await admin.raw('DROP DATABASE IF EXISTS ??', [name]); // a template an interrupted run left half made
      await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      const db = createDb(parseDatabaseUrl(`${mysqlServer.replace(/\/$/, '')}/${name}`));
      try {
        await db.migrate.latest();
      } finally {
        await db.destroy();
      }
      await admin.raw('CREATE TABLE ?? (done INT)', [`${name}.${TEMPLATE_READY}`]);
    } finally {
      await admin.raw('SELECT RELEASE_LOCK(?)', ['ws_test_template']);
    }
  });
  templateName = name;
  return name;
}

/** Copies the template's tables (foreign keys included, as SHOW CREATE TABLE gives them) and rows into `target`. */
async function cloneTemplate(target: string): Promise<void> {
  const template = await migratedTemplate();
  await withAdminSession(async (admin) => {
    const [tables] = (await admin.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", [
      template,
    ])) as [Array<{ name: string }>];
    await admin.raw('USE ??', [target]);
    await admin.raw('SET FOREIGN_KEY_CHECKS = 0');
    for (const { name } of tables) {
      if (name === TEMPLATE_READY) continue;
      const [[row]] = (await admin.raw('SHOW CREATE TABLE ??', [`${template}.${name}`])) as [Array<Record<string, string>>];
      await admin.raw(row['Create Table']);
      await admin.raw('INSERT INTO ?? SELECT * FROM ??', [name, `${template}.${name}`]);
    }
    await admin.raw('SET FOREIGN_KEY_CHECKS = 1');
  });
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
  if (opts.migrate !== false) await cloneTemplate(name);
  const db = createDb(config, dbOptions);
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

/** A SQLite test database in a new temporary file, from `template` when given; dropped with its files. */
function sqliteDatabase(template?: string): TestDatabase {
  const name = `ws_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const file = path.join(os.tmpdir(), `${name}.sqlite`);
  if (template) copyFileSync(template, file);
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

/** Creates an empty database (no schema). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  if (dialect === 'mysql') return createMariaDatabase({ migrate: false });
  return sqliteDatabase();
}

/** A fresh, migrated database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (dialect === 'mysql') return createMariaDatabase();
  return sqliteDatabase(await sqliteTemplate());
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
