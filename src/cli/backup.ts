/**
 * Backups of the whole store (docs/cli.md, backup and restore; docs/data.md).
 *
 * - SQLite: better-sqlite3's online backup API (`.backup()`), safe while the server writes: the
 *   file it writes is itself a SQLite database.
 * - MySQL/MariaDB: a logical dump written by the application (mysqldump need not be installed):
 *   JSON lines, read inside one `START TRANSACTION WITH CONSISTENT SNAPSHOT`, so every table is
 *   seen at the same instant. Line 1 is the header (format, dialect, migrations applied); then one
 *   `{"table": ..., "row": {...}}` per row, every table including knex_migrations.
 *
 * Restore reads either kind into the configured database: it creates the schema with the code's
 * own migrations up to the dump's last one (never past it), then loads the rows in one
 * transaction with foreign-key checks deferred. A dump with migrations the code does not know is
 * refused (the code is older than the data).
 *
 * This is operator tooling that reads every table as it is; the application's repositories are
 * not involved (they only know the rows they own).
 */
import { createReadStream, createWriteStream, existsSync, openSync, readSync, closeSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Db } from '../db/connection.js';
import { isMysql } from '../db/dialect.js';
import { MIGRATIONS_TABLE, migrationName } from '../db/migration-source.js';

export const FORMAT = 'watchstore-backup/1';
const LOCK_TABLE = `${MIGRATIONS_TABLE}_lock`;

export interface BackupSummary {
  file: string;
  kind: 'sqlite' | 'json-lines';
  migrations: string[];
  rows: Record<string, number>;
}

interface RawConnection {
  backup(destination: string): Promise<unknown>;
}

/**
 * SQLite's own tables: not the full-text index (products_fts, a virtual table, and its shadow
 * tables), which the migrations make and the triggers on products fill (docs/data.md).
 */
const SQLITE_BASE_TABLES = "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'";

/** The base tables of the database, in name order (knex's lock table left out). */
export async function listTables(db: Db): Promise<string[]> {
  if (isMysql(db)) {
    const [rows] = (await db.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")) as [
      Array<{ name: string }>,
    ];
    return rows
      .map((r) => r.name)
      .filter((n) => n !== LOCK_TABLE)
      .sort();
  }
  const rows = (await db.raw(SQLITE_BASE_TABLES)) as Array<{ name: string }>;
  return rows
    .map((r) => r.name)
    .filter((n) => n !== LOCK_TABLE)
    .sort();
}

async function appliedMigrations(read: (table: string) => Promise<Array<Record<string, unknown>>>, tables: string[]): Promise<string[]> {
  if (!tables.includes(MIGRATIONS_TABLE)) return [];
  const rows = await read(MIGRATIONS_TABLE);
  return rows.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => migrationName(String(r.name)));
}

/** Writes a backup of `db` to `file` (refuses to overwrite). Written under a temporary name first. */
export async function backup(db: Db, file: string): Promise<BackupSummary> {
  if (existsSync(file)) throw new Error(`${file} already exists: choose a new file name`);
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  try {
    const summary = isMysql(db) ? await dumpMysql(db, partial) : await backupSqlite(db, partial);
    renameSync(partial, file);
    return { ...summary, file };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

async function backupSqlite(db: Db, file: string): Promise<BackupSummary> {
  const tables = await listTables(db);
  const rows: Record<string, number> = {};
  const conn = (await db.client.acquireConnection()) as RawConnection;
  try {
    await conn.backup(file);
  } finally {
    await db.client.releaseConnection(conn);
  }
  // What the copy holds, read back from the copy itself.
  const { default: Database } = await import('better-sqlite3');
  const copy = new Database(file, { readonly: true });
  try {
    for (const t of tables) rows[t] = (copy.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n;
    const migrations = await appliedMigrations(async (t) => copy.prepare(`SELECT * FROM "${t}"`).all() as Array<Record<string, unknown>>, tables);
    return { file, kind: 'sqlite', migrations, rows };
  } finally {
    copy.close();
  }
}

const jsonValue = (v: unknown) =>
  v instanceof Date ? v.toISOString().replace('T', ' ').replace('Z', '') : Buffer.isBuffer(v) ? { base64: v.toString('base64') } : v;

async function dumpMysql(db: Db, file: string): Promise<BackupSummary> {
  const out = createWriteStream(file, { encoding: 'utf8', mode: 0o600 });
  const write = async (line: unknown) => {
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  };
  const conn = await db.client.acquireConnection();
  const rows: Record<string, number> = {};
  try {
    const on = (sql: string) => db.raw(sql).connection(conn);
    await on('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await on('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    try {
      const tables = await listTables(db);
      const read = (t: string) => db.select('*').from(t).connection(conn) as Promise<Array<Record<string, unknown>>>;
      const migrations = await appliedMigrations(read, tables);
      await write({ format: FORMAT, dialect: 'mysql', created_at: new Date().toISOString(), migrations, tables });
      for (const table of tables) {
        rows[table] = 0;
        const stream = db.select('*').from(table).connection(conn).stream();
        for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
          const clean: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(row)) clean[k] = jsonValue(v);
          await write({ table, row: clean });
          rows[table] += 1;
        }
      }
      await on('COMMIT');
      out.end();
      await once(out, 'finish');
      return { file, kind: 'json-lines', migrations, rows };
    } catch (err) {
      await on('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    out.destroy();
    await db.client.releaseConnection(conn);
  }
}

/** What a backup file holds, without loading it. */
export interface BackupSource {
  kind: 'sqlite' | 'json-lines';
  migrations: string[];
  /** Every row of every table but knex's own, table by table. */
  rows(): AsyncIterable<{ table: string; row: Record<string, unknown> }>;
  close(): void;
}

function isSqliteFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    return head.toString('latin1') === 'SQLite format 3\0';
  } finally {
    closeSync(fd);
  }
}

export async function openBackup(file: string): Promise<BackupSource> {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  if (isSqliteFile(file)) {
    const { default: Database } = await import('better-sqlite3');
    const src = new Database(file, { readonly: true, fileMustExist: true });
    const tables = (src.prepare(SQLITE_BASE_TABLES).all() as Array<{ name: string }>).map((r) => r.name).filter((n) => n !== LOCK_TABLE);
    const migrations = tables.includes(MIGRATIONS_TABLE)
      ? (src.prepare(`SELECT name FROM "${MIGRATIONS_TABLE}" ORDER BY id`).all() as Array<{ name: string }>).map((r) => migrationName(r.name))
      : [];
    return {
      kind: 'sqlite',
      migrations,
      async *rows() {
        for (const table of tables) {
          if (table === MIGRATIONS_TABLE) continue;
          for (const row of src.prepare(`SELECT * FROM "${table}"`).iterate() as Iterable<Record<string, unknown>>) yield { table, row };
        }
      },
      close: () => src.close(),
    };
  }
  const lines = () => createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let header: { format?: string; migrations?: string[] } | undefined;
  for await (const line of lines()) {
    try {
      header = JSON.parse(line) as typeof header;
    } catch {
      header = undefined;
    }
    break;
  }
  if (header?.format !== FORMAT || !Array.isArray(header.migrations)) throw new Error(`${file} is not a watchstore backup`);
  return {
    kind: 'json-lines',
    migrations: header.migrations,
    async *rows() {
      let first = true;
      for await (const line of lines()) {
        if (first || line === '') {
          first = false;
          continue;
        }
        const { table, row } = JSON.parse(line) as { table: string; row: Record<string, unknown> };
        if (table === MIGRATIONS_TABLE) continue;
        for (const [k, v] of Object.entries(row)) if (v && typeof v === 'object' && 'base64' in v) row[k] = Buffer.from(String(v.base64), 'base64');
        yield { table, row };
      }
    },
    close: () => {},
  };
}

/** Rows in the data tables (everything but knex's bookkeeping): 0 means the database is empty. */
export async function countDataRows(db: Db): Promise<number> {
  let n = 0;
  for (const t of await listTables(db)) {
    if (t === MIGRATIONS_TABLE) continue;
    const [{ c }] = (await db(t).count({ c: '*' })) as Array<{ c: number | string }>;
    n += Number(c);
  }
  return n;
}

/** How the dump's migrations compare with the code's: the same, behind (a prefix), or not loadable. */
export function compareMigrations(
  dump: string[],
  code: string[],
): { state: 'same' | 'behind'; missing: string[] } | { state: 'ahead' | 'diverged'; unknown: string[] } {
  const unknown = dump.filter((m) => !code.includes(m));
  if (unknown.length > 0) return { state: 'ahead', unknown };
  if (dump.some((m, i) => code[i] !== m)) return { state: 'diverged', unknown: dump.filter((m, i) => code[i] !== m) };
  return dump.length === code.length ? { state: 'same', missing: [] } : { state: 'behind', missing: code.slice(dump.length) };
}

async function dropAllTables(db: Db): Promise<void> {
  const all = [...(await listTables(db)), LOCK_TABLE];
  if (isMysql(db)) {
    await db.transaction(async (trx) => {
      await trx.raw('SET FOREIGN_KEY_CHECKS = 0');
      for (const t of all) await trx.raw('DROP TABLE IF EXISTS ??', [t]);
      await trx.raw('SET FOREIGN_KEY_CHECKS = 1');
    });
    return;
  }
  // SQLite: one pooled connection; foreign keys can only be switched outside a transaction.
  // Virtual tables (the full-text index) go too: dropping one drops its shadow tables.
  const virtual = ((await db.raw("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'virtual'")) as Array<{ name: string }>).map(
    (r) => r.name,
  );
  await db.raw('PRAGMA foreign_keys = OFF');
  try {
    for (const t of [...virtual, ...all]) await db.raw('DROP TABLE IF EXISTS ??', [t]);
  } finally {
    await db.raw('PRAGMA foreign_keys = ON');
  }
}

/**
 * Replaces everything in `db` with the backup: drops every table, migrates to the dump's level,
 * and loads the rows in one transaction. The caller has checked emptiness and migrations.
 */
export async function restore(db: Db, source: BackupSource): Promise<Record<string, number>> {
  await dropAllTables(db);
  for (let i = 0; i < source.migrations.length; i++) {
    const [, log] = (await db.migrate.up()) as [number, string[]];
    if (log.length !== 1 || migrationName(log[0]) !== source.migrations[i]) {
      throw new Error(`restoring the schema: expected migration ${source.migrations[i]}, ran ${log.map(migrationName).join(', ') || 'none'}`);
    }
  }
  const counts: Record<string, number> = {};
  await db.transaction(async (trx) => {
    if (isMysql(db)) await trx.raw('SET FOREIGN_KEY_CHECKS = 0');
    else await trx.raw('PRAGMA defer_foreign_keys = ON');
    // Rows a migration may have put there (a counter row, say) give way to the dump's.
    for (const t of await listTables(trx as unknown as Db)) if (t !== MIGRATIONS_TABLE) await trx(t).del();
    let batch: Array<Record<string, unknown>> = [];
    let current = '';
    const flush = async () => {
      if (batch.length > 0) await db.batchInsert(current, batch, 200).transacting(trx);
      batch = [];
    };
    for await (const { table, row } of source.rows()) {
      if (table !== current) {
        await flush();
        current = table;
      }
      batch.push(row);
      counts[table] = (counts[table] ?? 0) + 1;
      if (batch.length >= 200) await flush();
    }
    await flush();
    if (isMysql(db)) await trx.raw('SET FOREIGN_KEY_CHECKS = 1');
  });
  return counts;
}
