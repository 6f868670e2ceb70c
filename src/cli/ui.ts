/**
 * All terminal input and output of the CLI goes through here: tables, colour, JSON, messages and
 * prompts. Results go to stdout (as JSON with --json); messages and prompts go to stderr, so
 * `--json` output can always be piped. cli-table3 and inquirer are imported only when used.
 */
import chalk from 'chalk';
import { AppError } from '../errors.js';

export interface UiOptions {
  json?: boolean;
  /** false with --no-color */
  color?: boolean;
}

/** What chalk detected for stdout before we had a say (0 on dumb terminals). */
const detectedLevel = chalk.level;

const state = { json: false, color: false };

/**
 * Colour only when stdout is a TTY, NO_COLOR is not set and --no-color was not given.
 * Otherwise chalk is set to level 0 so not a single escape code is written.
 */
export function configureUi(opts: UiOptions): void {
  // NO_COLOR (no-color.org) and TERM=dumb are terminal conventions, not application configuration.
  const noColorEnv = Boolean(process.env.NO_COLOR) || process.env.TERM === 'dumb';
  state.json = opts.json === true;
  state.color = opts.color !== false && !noColorEnv && process.stdout.isTTY === true;
  // On a terminal, at least basic colour: chalk's own guess says none under CI=true or without
  // TERM, but cli.md's rule is the terminal itself.
  chalk.level = state.color ? (Math.max(detectedLevel, 1) as 1 | 2 | 3) : 0;
}
configureUi({});

/** A usage problem: exit 2 with one line. */
export function usageError(message: string): AppError {
  return new AppError('VALIDATION_FAILED', message);
}

/** `a`, `a and b`, `a, b and c`. */
export function joinAnd(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export const ui = {
  /** chalk, already at level 0 when colour is off. */
  style: chalk,

  /** A command's result: JSON on stdout with --json, otherwise the human rendering. */
  async result(value: unknown, human: () => void | Promise<void>): Promise<void> {
    if (state.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else await human();
  },

  /** A line of human output on stdout. */
  print(line = ''): void {
    process.stdout.write(`${line}\n`);
  },

  /** A note for people, on stderr (never mixed into --json output). */
  message(line: string): void {
    process.stderr.write(`${line}\n`);
  },

  warn(line: string): void {
    process.stderr.write(`warning: ${line}\n`);
  },

  /** A table on stdout. Without colour, cli-table3 gets an empty style so it writes no ANSI. */
  async table(head: string[], rows: Array<Array<string | number>>, align?: Array<'left' | 'right' | 'center'>): Promise<void> {
    const { default: Table } = await import('cli-table3');
    const table = new Table({
      head: head.map((h) => chalk.bold(h)),
      ...(align ? { colAligns: align } : {}),
      // No rule between body rows: compact, and still aligned when piped.
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      style: state.color ? { head: [], border: ['grey'] } : { head: [], border: [] },
    });
    for (const row of rows) table.push(row.map(String));
    process.stdout.write(`${table.toString()}\n`);
  },

  /** True when a person can answer prompts (stdin is a terminal). */
  interactive(): boolean {
    return process.stdin.isTTY === true;
  },

  async ask(message: string, validate?: (v: string) => true | string): Promise<string> {
    const { value } = await prompt<{ value: string }>({ type: 'input', name: 'value', message, validate });
    return value.trim();
  },

  /** A hidden password prompt, asked twice when `confirm` is set. */
  async askPassword(message: string, confirm = false): Promise<string> {
    const { value } = await prompt<{ value: string }>({ type: 'password', name: 'value', message, mask: '*' });
    if (confirm) {
      const { again } = await prompt<{ again: string }>({ type: 'password', name: 'again', message: 'Repeat it:', mask: '*' });
      if (again !== value) throw usageError('The passwords did not match.');
    }
    return value;
  },

  async confirm(message: string): Promise<boolean> {
    const { ok } = await prompt<{ ok: boolean }>({ type: 'confirm', name: 'ok', message, default: false });
    return ok;
  },

  /**
   * The rule of every `remove` command: with --yes it goes ahead; without, it asks "Remove …?" on
   * a terminal (`what` names the thing), and is a usage error anywhere else. False, after saying
   * so, when the answer is no.
   */
  async confirmRemoval(command: string, yes: boolean | undefined, what: () => Promise<string>): Promise<boolean> {
    if (yes) return true;
    if (!ui.interactive()) throw usageError(`${command} needs --yes when not run interactively.`);
    if (await ui.confirm(`Remove ${await what()}?`)) return true;
    ui.message('Nothing removed.');
    return false;
  },

  /** Everything on stdin (for --password-stdin), minus one trailing newline. */
  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  },
};

/** inquirer, loaded on first use, writing its prompts to stderr so stdout stays clean. */
async function prompt<T>(question: Record<string, unknown>): Promise<T> {
  const { default: inquirer } = await import('inquirer');
  const ask = inquirer.createPromptModule({ output: process.stderr });
  return (await ask([question] as never)) as T;
}
