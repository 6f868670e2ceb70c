/**
 * The process's database for CLI commands. Knex's logger writes with console.log, i.e. to
 * stdout, and would corrupt --json output (and repeat, with a stack, what the CLI already says in
 * one line). Here its messages go to stderr, and only with DEBUG=watchstore.
 */
import { inspect } from 'node:util';
import { debugEnabled } from '../config.js';
import { getDb, type Db } from '../db/connection.js';

interface KnexLogger {
  _debug?: (m: unknown) => void;
  _warn?: (m: unknown) => void;
  _error?: (m: unknown) => void;
  _deprecate?: (m: unknown) => void;
}

const routed = new WeakSet<object>();

export async function openDb(): Promise<Db> {
  const db = await getDb();
  const logger = (db.client as { logger?: KnexLogger }).logger;
  if (logger && !routed.has(logger)) {
    const toStderr = (m: unknown) => {
      if (debugEnabled()) process.stderr.write(`knex: ${typeof m === 'string' ? m : inspect(m)}\n`);
    };
    logger._debug = toStderr;
    logger._warn = toStderr;
    logger._error = toStderr;
    logger._deprecate = toStderr;
    routed.add(logger);
  }
  return db;
}
