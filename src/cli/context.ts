/**
 * What a CLI command runs against: its terminal (io), its configuration and its database.
 * `main(argv, io)` (main.ts) creates one context per run and runs the command inside it, so the
 * command handlers, `ui` and `openDb()` find it through `currentContext()` without globals: the
 * tests run many commands in one process, concurrently, each with its own captured output,
 * scripted prompt answers and database (test/helpers/cli-in-process.ts). See docs/cli.md.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Readable, Writable } from 'node:stream';
import { inspect } from 'node:util';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import type { DbOptions } from '../db/knex-config.js';

/** The terminal of one run: the process's own, or streams a test captures. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  /** The environment the run reads (NO_COLOR, DEBUG, TERM, the configuration). */
  env: NodeJS.ProcessEnv;
}

export interface CliContext {
  io: CliIo;
  /** The configuration (throws ConfigError when invalid). */
  config(): Promise<Config>;
  /** The database, opened on first use. */
  db(options?: DbOptions): Promise<Db>;
  /** Closes what db() opened, if this context owns it. */
  close(): Promise<void>;
  /** Output settings, set from the global options before the command runs (ui.ts). */
  output: { json: boolean; color: boolean };
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

const storage = new AsyncLocalStorage<CliContext>();

let fallback: CliContext | undefined;

/** The running command's context; outside main() (a command imported directly), the process's. */
export function currentContext(): CliContext {
  const ctx = storage.getStore();
  if (ctx) return ctx;
  fallback ??= defaultContext(processIo());
  return fallback;
}

/**
 * Runs `fn` with `ctx` as the current context. `alone`: the run is the only one in its process
 * (the shipped binary), so `ctx` simply becomes the process's context: entering
 * AsyncLocalStorage would turn on Node 20's promise hooks for the process's whole life, a cost
 * on every promise of a long-running `watchstore serve` (bench/README.md).
 */
export function runInContext<T>(ctx: CliContext, fn: () => Promise<T>, opts: { alone?: boolean } = {}): Promise<T> {
  if (opts.alone) {
    fallback = ctx;
    return fn();
  }
  return storage.run(ctx, fn);
}

/**
 * The shipped CLI's context: configuration from the environment (and `.env`), and the process's
 * one database pool (db/connection.ts), closed when the command is done.
 */
export function defaultContext(io: CliIo): CliContext {
  let opened = false;
  return {
    io,
    output: { json: false, color: false },
    async config() {
      // Imported on first use: `watchstore --help` loads no zod (test/cli/help.test.ts).
      const { getConfig } = await import('../config.js');
      return getConfig();
    },
    async db(options?: DbOptions) {
      const { getDb } = await import('../db/connection.js');
      const { setDbLogSink } = await import('../db/knex-config.js');
      const { debugEnabled } = await import('../config.js');
      setDbLogSink((level, m) => {
        if (debugEnabled()) io.stderr.write(`knex ${level}: ${typeof m === 'string' ? m : inspect(m)}\n`);
      });
      opened = true;
      return getDb(options);
    },
    async close() {
      if (!opened) return;
      const { closeDb } = await import('../db/connection.js');
      await closeDb().catch(() => {});
    },
  };
}

/** The running command's configuration. */
export function cliConfig(): Promise<Config> {
  return currentContext().config();
}
