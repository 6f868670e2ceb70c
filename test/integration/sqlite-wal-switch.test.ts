/**
 * A SQLite file in rollback-journal mode (copied, or restored from a backup) is switched to WAL by
 * the first connection that opens it. While another process writes to the file, SQLite refuses
 * that switch with SQLITE_BUSY at once, without waiting (its deadlock rule): two servers starting
 * together on such a file had one fail with "database is locked". The switch now waits
 * (db/knex-config.ts, switchToWal). Runs on SQLite whatever TEST_DB says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { createDb } from '../../src/db/connection.js';
import { holdWriteLock, type TestDatabase } from '../helpers/db.js';

test('when a file in rollback mode is opened while another process writes to it, then the switch to WAL waits for the writer instead of failing', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-wal-switch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const filename = path.join(dir, 'store.sqlite');
  const raw = new Database(filename);
  raw.exec('CREATE TABLE t (x INTEGER)');
  t.is(raw.pragma('journal_mode', { simple: true }), 'delete', 'the file starts in rollback mode');
  raw.close();

  const config = { client: 'sqlite', filename } as const;
  const { released } = await holdWriteLock({ config } as unknown as TestDatabase, { ms: 400, sql: 'INSERT INTO t (x) VALUES (1)' });
  const db = createDb(config, { timeoutMs: 10_000 });
  t.teardown(() => db.destroy());
  // The first query opens the connection, which switches the file to WAL.
  const rows = await db('t').select('x');
  await released;
  t.deepEqual(rows, [{ x: 1 }], 'it waited for the writer and then read what it committed');
  t.is((await db.raw('PRAGMA journal_mode'))[0].journal_mode, 'wal');
});
