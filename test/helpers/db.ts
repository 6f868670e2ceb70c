/**
 * A fresh database per test file, on the dialect chosen by TEST_DB:
 *   TEST_DB=sqlite (default)  a new SQLite file in the OS temp directory
 *   TEST_DB=mysql             a new database on TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306)
 * The schema is migrated; the database is dropped when the file's tests end.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { parseDatabaseUrl, type DatabaseConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/connection.js';

export const dialect: 'sqlite' | 'mysql' = process.env.TEST_DB === 'mysql' ? 'mysql' : 'sqlite';
const mysqlServer = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface TestDatabase {
  /** DATABASE_URL for child processes (CLI, server). */
  url: string;
  config: DatabaseConfig;
  db: Db;
  dialect: 'sqlite' | 'mysql';
  /** Closes the pool and removes the database. */
  drop(): Promise<void>;
}

function adminConnection() {
  const c = parseDatabaseUrl(`${mysqlServer.replace(/\/$/, '')}/mysql`);
  if (c.client !== 'mysql') throw new Error('TEST_MYSQL_URL must be a mysql:// URL');
  return knexFactory({ client: 'mysql2', connection: { host: c.host, port: c.port, user: c.user, password: c.password } });
}

/** Creates an empty database (no schema). */
export async function createEmptyDatabase(): Promise<Omit<TestDatabase, 'db'> & { db: Db }> {
  const name = `ws_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (dialect === 'sqlite') {
    const file = path.join(os.tmpdir(), `${name}.sqlite`);
    const url = `sqlite:${file}`;
    const config = parseDatabaseUrl(url);
    const db = createDb(config);
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
  const admin = adminConnection();
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
  const url = `${mysqlServer.replace(/\/$/, '')}/${name}`;
  const config = parseDatabaseUrl(url);
  const db = createDb(config);
  return {
    url,
    config,
    db,
    dialect,
    async drop() {
      await db.destroy();
      const a = adminConnection();
      try {
        await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.destroy();
      }
    },
  };
}

/** A fresh, migrated database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const t = await createEmptyDatabase();
  await t.db.migrate.latest();
  return t;
}
