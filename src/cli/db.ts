/**
 * The process's database for CLI commands. Knex's own messages would repeat, with a stack, what
 * the CLI already says in one line: here they go to stderr only with DEBUG=watchstore.
 */
import { inspect } from 'node:util';
import { debugEnabled } from '../config.js';
import { getDb, setDbLogSink, type Db } from '../db/connection.js';

export async function openDb(): Promise<Db> {
  setDbLogSink((level, m) => {
    if (debugEnabled()) process.stderr.write(`knex ${level}: ${typeof m === 'string' ? m : inspect(m)}\n`);
  });
  return getDb();
}
