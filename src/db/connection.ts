/**
 * One lazy Knex instance per process, and every dialect difference in one place.
 * SQLite (better-sqlite3) is the embedded default; MySQL/MariaDB goes through one mysql2 pool.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import type { DatabaseConfig } from '../config.js';

export type Db = Knex;

/** Where knex records the applied migrations. */
export const MIGRATIONS_TABLE = 'knex_migrations';

const here = path.dirname(fileURLToPath(import.meta.url));
/** migrations/ beside src/ — in the source tree and in dist/ alike. */
export const MIGRATIONS_DIR = path.resolve(here, '../../migrations');

/**
 * Migrations are named without their extension, so the compiled .js files (the CLI) and the
 * .ts sources (tests under tsx) are the same migrations to knex.
 */
class MigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const ext = path.extname(fileURLToPath(import.meta.url)); // .ts under tsx, .js when compiled
    return readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
      .sort();
  }
  getMigrationName(file: string): string {
    return migrationName(file);
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href);
  }
}

export type DbLogSink = (level: 'warn' | 'error' | 'deprecate' | 'debug', message: unknown) => void;

/** Knex's own messages: to stderr by default (never stdout, which carries --json output). */
let logSink: DbLogSink = (level, message) => process.stderr.write(`knex ${level}: ${typeof message === 'string' ? message : inspect(message)}\n`);

/** Where knex's warnings go: the CLI shows them only with DEBUG, the server logs them through pino. */
export function setDbLogSink(sink: DbLogSink): void {
  logSink = sink;
}

const log: Knex.Config['log'] = {
  warn: (m: unknown) => logSink('warn', m),
  error: (m: unknown) => logSink('error', m),
  deprecate: (m: unknown) => logSink('deprecate', m),
  debug: (m: unknown) => logSink('debug', m),
};

/** A migration's name without its extension: the same for the .ts source and the compiled .js. */
export function migrationName(file: string): string {
  return file.replace(/\.(ts|js)$/, '');
}

type KnexClientClass = new (config: Knex.Config) => object;
let immediateSqlite: KnexClientClass | undefined;

/**
 * knex's better-sqlite3 client, except that every transaction starts with `BEGIN IMMEDIATE`.
 * knex opens them with a plain (deferred) `BEGIN`: such a transaction takes the write lock only
 * at its first write, and if another process (the CLI, a second server) holds it by then, SQLite
 * answers SQLITE_BUSY at once, without waiting out busy_timeout, because a reader that waited for
 * the lock could deadlock. Taken at BEGIN, the lock is waited for like any other. Within one
 * process nothing changes: its one connection runs one transaction at a time anyway.
 */
function immediateSqliteClient(): KnexClientClass {
  if (!immediateSqlite) {
    const require = createRequire(import.meta.url);
    const BetterSqlite3Client = require('knex/lib/dialects/better-sqlite3/index.js') as KnexClientClass;
    type TransactionClass = new (...args: unknown[]) => { query(conn: unknown, sql: string): Promise<unknown> };
    const SqliteTransaction = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js') as TransactionClass;
    class ImmediateTransaction extends SqliteTransaction {
      begin(conn: unknown): Promise<unknown> {
        return this.query(conn, 'BEGIN IMMEDIATE;');
      }
    }
    immediateSqlite = class ImmediateSqliteClient extends BetterSqlite3Client {
      transaction(...args: unknown[]) {
        return new ImmediateTransaction(this, ...args);
      }
    };
  }
  return immediateSqlite;
}

export function knexConfig(database: DatabaseConfig): Knex.Config {
  const migrations: Knex.MigratorConfig = { migrationSource: new MigrationSource(), tableName: MIGRATIONS_TABLE };
  if (database.client === 'sqlite') {
    if (database.filename !== ':memory:') mkdirSync(path.dirname(path.resolve(database.filename)), { recursive: true });
    return {
      client: immediateSqliteClient() as unknown as Knex.Config['client'],
      log,
      connection: { filename: database.filename },
      useNullAsDefault: true,
      migrations,
      pool: {
        // better-sqlite3 is synchronous: one connection serialises every statement and transaction.
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          try {
            // busy_timeout first: switching a new file to WAL needs the lock too.
            conn.pragma('busy_timeout = 5000');
            conn.pragma('foreign_keys = ON');
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    };
  }
  return {
    client: 'mysql2',
    log,
    connection: {
      host: database.host,
      port: database.port,
      user: database.user,
      password: database.password,
      database: database.database,
      timezone: 'Z',
      dateStrings: true,
      // Money columns are BIGINT: without bigNumberStrings, mysql2 returns them as JS numbers while
      // they fit in 2^53 (cents never come near), as strings beyond; readers still wrap them in Number().
      supportBigNumbers: true,
      charset: 'utf8mb4',
      connectTimeout: 5000,
    },
    migrations,
    acquireConnectionTimeout: 10_000,
    pool: {
      min: 0,
      max: 10,
      afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
        conn.query("SET time_zone = '+00:00'", (err) => done(err, conn));
      },
    },
  };
}

export function createDb(database: DatabaseConfig): Db {
  const db = knexFactory(knexConfig(database));
  // knex.destroy() ends in client.destroy(): close the change counter's connection with the pool.
  const client = db.client as { destroy(callback?: unknown): Promise<void> };
  const destroyClient = client.destroy.bind(client);
  client.destroy = (callback?: unknown) => {
    destroyedDbs.add(db);
    changeCounters.get(db)?.close();
    changeCounters.delete(db);
    return destroyClient(callback);
  };
  return db;
}

export function isMysql(db: Db): boolean {
  return db.client.config.client === 'mysql2';
}

let instance: Db | undefined;

/** The process's Knex instance, created on first use from the configuration. */
export async function getDb(): Promise<Db> {
  if (!instance) {
    const { getConfig } = await import('../config.js');
    instance = createDb(getConfig().database);
  }
  return instance;
}

/** Closes the pool so the process can exit at once. Safe to call when nothing was opened. */
export async function closeDb(): Promise<void> {
  const db = instance;
  instance = undefined;
  if (db) await db.destroy();
}

/** Date → the text both dialects store in DATETIME(3) columns: 'YYYY-MM-DD HH:MM:SS.mmm' (UTC). */
export function toDbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** A DATETIME read back (a string on both dialects) → ISO 8601 in UTC. */
export function fromDbTime(v: string | Date | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const s = v.includes('T') ? v : v.replace(' ', 'T');
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Escapes text for `LIKE ? ESCAPE '!'` so `%` and `_` are taken literally. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

type Counter = { get(): unknown; close(): void };
const changeCounters = new WeakMap<Db, Counter>();
/** Instances whose pool was destroyed: a counter opened for one of them would never be closed. */
const destroyedDbs = new WeakSet<Db>();

/**
 * A number that changes whenever anyone commits to the SQLite file: this process, the CLI,
 * another server. It is `PRAGMA data_version` read on a connection of its own that never
 * writes, so every commit — including this process's, made on the pool's connection — is a
 * commit "by another connection", which is exactly what data_version counts. Synchronous and
 * nothing is scanned. Undefined for MySQL and for in-memory SQLite (no second connection can
 * see that database). Throws once the instance was destroyed: its pool is gone, and the
 * connection opened here would be left open, as nothing would ever close it.
 */
export function sqliteChangeCounter(db: Db): number | undefined {
  let counter = changeCounters.get(db);
  if (!counter) {
    if (destroyedDbs.has(db)) throw new Error('The database connection was closed (db.destroy()); no change counter can be opened on it');
    const conn = db.client.config.connection as { filename?: string };
    if (isMysql(db) || !conn?.filename || conn.filename === ':memory:') return undefined;
    const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    const sqlite = new BetterSqlite3(conn.filename, { fileMustExist: true });
    const statement = sqlite.prepare('PRAGMA data_version').pluck();
    counter = { get: () => statement.get(), close: () => sqlite.close() };
    changeCounters.set(db, counter);
  }
  return counter.get() as number;
}

/** Checks the database answers (a trivial query through the pool). */
export async function pingDb(db: Db): Promise<void> {
  await db.raw('select 1');
}

/**
 * Checks the database answers on a brand-new connection of its own, outside the pool and closed
 * right after: whether it accepts connections now, whatever dead connections the pool still holds.
 */
export async function pingFreshConnection(db: Db): Promise<void> {
  const client = db.client as { acquireRawConnection(): Promise<unknown>; destroyRawConnection(connection: unknown): Promise<void> };
  const connection = await client.acquireRawConnection();
  try {
    await db.select(db.raw('1 as ok')).connection(connection);
  } finally {
    await client.destroyRawConnection(connection).catch(() => {});
  }
}

/** True when a write failed on a unique key (either dialect). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'ER_DUP_ENTRY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when a write failed on a foreign key: the row it points at is not there (either dialect). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'ER_NO_REFERENCED_ROW_2' || code === 'ER_NO_REFERENCED_ROW';
}

/** The id of a row just inserted, on both dialects. */
export function insertedId(result: unknown): number {
  const first = Array.isArray(result) ? result[0] : result;
  if (typeof first === 'number') return first;
  if (first && typeof first === 'object' && 'id' in first) return Number((first as { id: unknown }).id);
  return Number(first);
}

/** Column default for "now" with milliseconds, in the same text form on both dialects. */
export function nowDefault(knex: Knex): Knex.Raw {
  return isMysql(knex) ? knex.raw('CURRENT_TIMESTAMP(3)') : knex.raw("(strftime('%Y-%m-%d %H:%M:%f', 'now'))");
}
