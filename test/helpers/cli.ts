/**
 * Runs the shipped CLI (`node bin/watchstore.js`, i.e. the compiled dist/) as a child process.
 * `npm test` builds first; when dist/ is missing or older than a source file, this helper
 * refuses to run rather than test yesterday's code.
 *
 * Children start in an empty temporary directory (no `.env` from the developer's checkout) with
 * the test environment (test/helpers/env.ts) minus anything that would change what they print
 * (NO_COLOR, FORCE_COLOR, DEBUG) or where they connect (DATABASE_URL, DB_*, REDIS_URL, STRIPE_*).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BIN } from './bin.js';

export { BIN, ROOT } from './bin.js';

export interface CliResult {
  /** Exit code, or null when killed (signal or timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

export interface RunOptions {
  /** Extra environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Without it stdin is closed at once (never a TTY). */
  input?: string;
  /** Arguments for node itself, before the script (e.g. `--import`). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

const SCRUBBED = /^(NO_COLOR|FORCE_COLOR|DEBUG|DATABASE_URL|DB_(HOST|PORT|USER|PASSWORD|NAME)|REDIS_URL|STRIPE_.*|IMAGES_DIR|STORE_CURRENCY)$/;

/** An empty working directory shared by this worker's children, removed when the worker exits. */
const workDir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-cli-'));
process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUBBED.test(k) && v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], opts);
}

/** Something to type once the terminal shows `when` (a prompt), after the previous answer. */
export interface Answer {
  when: RegExp;
  type: string;
}

function runProcess(command: string, args: string[], opts: RunOptions & { answers?: Answer[] }): Promise<CliResult> {
  const started = performance.now();
  const answers = [...(opts.answers ?? [])];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: workDir, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let answeredUpTo = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      // Type each answer only once its prompt is on screen: no sleeps, no lost keystrokes.
      while (answers.length > 0 && answers[0].when.test(stdout.slice(answeredUpTo))) {
        answeredUpTo = stdout.length;
        child.stdin.write(answers.shift()!.type);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading its input
    if (opts.answers === undefined) child.stdin.end(opts.input ?? '');
  });
}

/**
 * Runs the CLI with a pseudo-terminal as stdin and stdout (util-linux `script`), to see what a
 * person at a terminal sees and to answer its prompts. stdout and stderr arrive merged in
 * `stdout`, with CRLF line ends. A key press of Enter is `\r`.
 */
export function runCliInTerminal(args: string[], opts: RunOptions & { answers?: Answer[] } = {}): Promise<CliResult> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const commandLine = [process.execPath, ...(opts.nodeArgs ?? []), BIN, ...args].map(quote).join(' ');
  return runProcess('script', ['-qec', commandLine, '/dev/null'], opts);
}

/** A runner bound to one database (and any other fixed environment). */
export function cliFor(databaseUrl: string, env: Record<string, string | undefined> = {}) {
  return (args: string[], opts: RunOptions = {}) => runCli(args, { ...opts, env: { DATABASE_URL: databaseUrl, ...env, ...opts.env } });
}

export const ANSI = /\x1b\[/;

/** The lines of a stream's text, without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
}
