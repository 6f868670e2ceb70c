/**
 * Runs the CLI inside the test process: `main(argv, io, context)` from src/cli/main.ts with
 * captured stdout/stderr, a stdin that is either closed (no terminal), given text (for
 * `--password-stdin`), or a scripted terminal answering prompts as they appear — and the test's
 * own database. No child process, no build, no pool to open per command: most CLI tests run
 * here; test/cli/smoke.test.ts keeps a few through the real `bin/watchstore.js`.
 *
 * The configuration is the test environment (test/helpers/env.mjs) minus what a developer's
 * shell could change (NO_COLOR, DEBUG, DATABASE_URL, ...), plus the runner's and the call's `env`.
 */
import { PassThrough, Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import type { CliContext, CliIo } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { createDb, type Db } from '../../src/db/connection.js';
import { setDbLogSink } from '../../src/db/knex-config.js';
import type { TestDatabase } from './db.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Something to type once `when` (a prompt) shows on the terminal, after the previous answer. */
export interface Answer {
  when: RegExp;
  type: string;
}

export interface InProcessOptions {
  /** Extra environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (not a terminal). */
  input?: string;
  /** stdin and stdout are a terminal (isTTY); prompts are answered from `answers`. */
  tty?: boolean;
  answers?: Answer[];
  /** The terminal's width (stdout.columns). */
  columns?: number;
}

const SCRUBBED = /^(NO_COLOR|FORCE_COLOR|DEBUG|COLUMNS|DATABASE_URL|DB_(HOST|PORT|USER|PASSWORD|NAME)|REDIS_URL|STRIPE_.*|IMAGES_DIR|STORE_CURRENCY)$/;

function environment(...layers: Array<Record<string, string | undefined> | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUBBED.test(k) && v !== undefined) env[k] = v;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
  }
  return env;
}

// Knex's retry warnings for the unreachable databases some tests name: the CLI's one line is what counts.
setDbLogSink(() => {});

class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns: number | undefined;
  constructor(
    tty: boolean,
    columns: number | undefined,
    private readonly onText: () => void = () => {},
  ) {
    super({ decodeStrings: false });
    this.isTTY = tty;
    this.columns = columns;
  }
  override _write(chunk: unknown, _enc: BufferEncoding, done: () => void): void {
    this.text += String(chunk);
    this.onText();
    done();
  }
}

/**
 * Runs `watchstore <args>` in-process. `database` is used as is (never closed here); when the
 * call's env names another DATABASE_URL, a pool for it is opened for the command and closed after.
 */
export async function runCliInProcess(args: string[], database: TestDatabase | undefined, opts: InProcessOptions = {}): Promise<CliResult> {
  const env = environment(database ? { DATABASE_URL: database.url } : undefined, opts.env);
  const tty = opts.tty === true;
  const stdin = Object.assign(new PassThrough(), { isTTY: tty });
  const answers = [...(opts.answers ?? [])];
  let answeredUpTo = 0;
  // Prompts go to stderr; each answer is typed once its prompt shows: no sleeps, no lost keys.
  const onText = () => {
    const screen = stderr.text + stdout.text;
    while (answers.length > 0 && answers[0].when.test(screen.slice(answeredUpTo))) {
      answeredUpTo = screen.length;
      const { type } = answers.shift()!;
      setImmediate(() => stdin.write(type));
    }
  };
  const stdout = new Capture(tty, opts.columns, onText);
  const stderr = new Capture(tty, undefined, onText);
  if (opts.input !== undefined) stdin.end(opts.input);
  else if (!tty) stdin.end();
  const io: CliIo = { stdout, stderr, stdin, env };

  let own: Db | undefined;
  const ctx: CliContext = {
    io,
    output: { json: false, color: false },
    async config() {
      return loadConfig(env);
    },
    async db() {
      const config = loadConfig(env);
      if (database && env.DATABASE_URL === database.url) return database.db;
      own ??= createDb(config.database);
      return own;
    },
    async close() {
      await own?.destroy();
      own = undefined;
    },
  };
  try {
    const code = await main(['node', 'watchstore', ...args], io, ctx);
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    stdin.destroy();
  }
}

/** A runner bound to one database (and any other fixed environment). */
export function cliInProcess(database: TestDatabase | undefined, env: Record<string, string | undefined> = {}) {
  return (args: string[], opts: InProcessOptions = {}) => runCliInProcess(args, database, { ...opts, env: { ...env, ...opts.env } });
}

export const ANSI = /\x1b\[/;

/** The lines of a stream's text, without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
}

/** `runCli` of test/helpers/cli.ts, in-process: the database comes from `env.DATABASE_URL`. */
export function runCli(args: string[], opts: InProcessOptions = {}): Promise<CliResult> {
  return runCliInProcess(args, undefined, opts);
}

/**
 * As at a terminal: stdin and stdout are TTYs (so colour is on unless turned off) and prompts
 * are answered from `answers` (Enter is `\r`). Unlike test/helpers/cli.ts's `script`-based
 * runner, stdout and stderr stay apart.
 */
export function runCliInTerminal(args: string[], opts: InProcessOptions = {}): Promise<CliResult> {
  return runCliInProcess(args, undefined, { ...opts, tty: true });
}
