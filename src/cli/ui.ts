/**
 * All terminal input and output of the CLI goes through here: tables, colour, JSON, messages and
 * prompts. Results go to stdout (as JSON with --json); messages and prompts go to stderr, so
 * `--json` output can always be piped. cli-table3 and inquirer are imported only when used.
 *
 * Every method writes to the running command's terminal (context.ts: the process's own, or the
 * streams a test gave `main(argv, io)`), so commands simply `import { ui }`.
 */
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import { AppError } from '../errors.js';
import { currentContext, type CliContext } from './context.js';

export interface UiOptions {
  json?: boolean;
  /** false with --no-color */
  color?: boolean;
}

const styles = new WeakMap<CliContext, ChalkInstance>();

/**
 * Colour only when stdout is a TTY, NO_COLOR is not set and --no-color was not given.
 * Otherwise chalk is at level 0 so not a single escape code is written.
 */
export function configureUi(opts: UiOptions, ctx: CliContext = currentContext()): void {
  const { env, stdout } = ctx.io;
  // NO_COLOR (no-color.org) and TERM=dumb are terminal conventions, not application configuration.
  const noColorEnv = Boolean(env.NO_COLOR) || env.TERM === 'dumb';
  ctx.output.json = opts.json === true;
  ctx.output.color = opts.color !== false && !noColorEnv && stdout.isTTY === true;
  // On a terminal, at least basic colour: chalk's own guess says none under CI=true or without
  // TERM, but the rule of docs/cli.md is the terminal itself.
  styles.set(ctx, new Chalk({ level: ctx.output.color ? 1 : 0 }));
}

function style(): ChalkInstance {
  const ctx = currentContext();
  let s = styles.get(ctx);
  if (!s) {
    configureUi({}, ctx);
    s = styles.get(ctx)!;
  }
  return s;
}

/** A usage problem: exit 2 with one line. */
export function usageError(message: string): AppError {
  return new AppError('VALIDATION_FAILED', message);
}

/** `a`, `a and b`, `a, b and c`. */
export function joinAnd(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** A prompt's check from a parser that throws: true, or what to fix (the service checks again). */
export function checkWith(check: (v: string) => unknown): (v: string) => true | string {
  return (v) => {
    try {
      check(v);
      return true;
    } catch (err) {
      return err instanceof AppError ? err.message : String(err);
    }
  };
}

/** A timestamp as tables show it: to the minute, UTC ('2026-11-30 14:05'); --json keeps it whole. */
export function shortTime(value: string | null | undefined): string {
  if (!value) return '-';
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]} ${m[2]}` : value;
}

/** Width on screen, without colour codes. */
const VISIBLE = (s: string) => stripVTControlCharacters(s).length;

/**
 * Column widths (content plus cli-table3's padding of 2) that fit `width` characters including
 * the borders: long columns (names, e-mails, details) give way first, widest first, so short ones
 * (ids, amounts, dates) stay whole; none goes below `min` (docs/cli.md, tables).
 */
export function fitColumns(natural: number[], width: number, min = 6, short = 18): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + widths.length + 1;
  for (const floor of [short, min]) {
    while (total() > width) {
      const widest = widths.indexOf(Math.max(...widths));
      if (widths[widest] <= floor) break;
      widths[widest] -= 1;
    }
  }
  return widths;
}

/** The width tables must fit: the terminal's, COLUMNS when set, otherwise unlimited (a pipe). */
function tableWidth(ctx: CliContext): number {
  const { stdout, env } = ctx.io;
  if (stdout.columns && stdout.columns > 0) return stdout.columns;
  const fromEnv = Number(env.COLUMNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Number.POSITIVE_INFINITY;
}

export const ui = {
  /** chalk, at level 0 when colour is off. */
  get style(): ChalkInstance {
    return style();
  },

  /** A command's result: JSON on stdout with --json, otherwise the human rendering. */
  async result(value: unknown, human: () => void | Promise<void>): Promise<void> {
    const ctx = currentContext();
    if (ctx.output.json) ctx.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else await human();
  },

  /** A line of human output on stdout. */
  print(line = ''): void {
    currentContext().io.stdout.write(`${line}\n`);
  },

  /** A note for people, on stderr (never mixed into --json output). */
  message(line: string): void {
    currentContext().io.stderr.write(`${line}\n`);
  },

  warn(line: string): void {
    currentContext().io.stderr.write(`warning: ${line}\n`);
  },

  /**
   * A table on stdout, as wide as the terminal at most: long cells wrap (at spaces) or end in
   * `…`. Without colour, cli-table3 gets an empty style so it writes no ANSI.
   */
  async table(head: string[], rows: Array<Array<string | number>>, align?: Array<'left' | 'right' | 'center'>): Promise<void> {
    const ctx = currentContext();
    const { default: Table } = await import('cli-table3');
    const cells = rows.map((row) => row.map(String));
    const natural = head.map((h, i) => Math.max(VISIBLE(h), ...cells.map((r) => Math.max(...(r[i] ?? '').split('\n').map(VISIBLE)))) + 2);
    const width = tableWidth(ctx);
    const fitted = fitColumns(natural, width);
    const narrowed = fitted.some((w, i) => w < natural[i]);
    const table = new Table({
      head: head.map((h) => style().bold(h)),
      ...(align ? { colAligns: align } : {}),
      ...(narrowed ? { colWidths: fitted, wordWrap: true } : {}),
      // No rule between body rows: compact, and still aligned when piped.
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      style: ctx.output.color ? { head: [], border: ['grey'] } : { head: [], border: [] },
    });
    for (const row of cells) table.push(row);
    ctx.io.stdout.write(`${table.toString()}\n`);
  },

  /** True when a person can answer prompts (stdin is a terminal). */
  interactive(): boolean {
    return currentContext().io.stdin.isTTY === true;
  },

  async ask(message: string, validate?: (v: string) => true | string): Promise<string> {
    const { value } = await prompt<{ value: string }>({ type: 'input', name: 'value', message, validate });
    return value.trim();
  },

  /** A hidden password prompt, asked twice when `confirm` is set; `validate` checks the first. */
  async askPassword(message: string, confirm = false, validate?: (v: string) => true | string): Promise<string> {
    const { value } = await prompt<{ value: string }>({ type: 'password', name: 'value', message, mask: '*', validate });
    if (confirm) {
      const { again } = await prompt<{ again: string }>({
        type: 'password',
        name: 'again',
        message: 'Repeat it:',
        mask: '*',
        validate: (v: string) => (v === value ? true : 'The passwords did not match.'),
      });
      if (again !== value) throw usageError('The passwords did not match.');
    }
    return value;
  },

  async confirm(message: string): Promise<boolean> {
    const { ok } = await prompt<{ ok: boolean }>({ type: 'confirm', name: 'ok', message, default: false });
    return ok;
  },

  /**
   * The rule of every destructive command: with --yes it goes ahead; without, it asks `question`
   * on a terminal, and is a usage error anywhere else. False, after saying `declined`, when the
   * answer is no.
   */
  async confirmOrYes(command: string, yes: boolean | undefined, question: () => Promise<string>, declined: string): Promise<boolean> {
    if (yes) return true;
    if (!ui.interactive()) throw usageError(`${command} needs --yes when not run interactively.`);
    if (await ui.confirm(await question())) return true;
    ui.message(declined);
    return false;
  },

  /** `confirmOrYes` for `remove` commands: "Remove …?" (`what` names the thing). */
  async confirmRemoval(command: string, yes: boolean | undefined, what: () => Promise<string>): Promise<boolean> {
    return ui.confirmOrYes(command, yes, async () => `Remove ${await what()}?`, 'Nothing removed.');
  },

  /** Everything on stdin (for --password-stdin), minus one trailing newline. */
  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of currentContext().io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  },
};

/** inquirer, loaded on first use, reading the run's stdin and writing its prompts to stderr. */
async function prompt<T>(question: Record<string, unknown>): Promise<T> {
  const { io } = currentContext();
  const { default: inquirer } = await import('inquirer');
  // inquirer ends its output stream when the prompt closes: give it one that only forwards writes.
  const output = new Writable({
    write(chunk, _enc, done) {
      io.stderr.write(chunk);
      done();
    },
  });
  Object.assign(output, { isTTY: io.stderr.isTTY, columns: (io.stderr as { columns?: number }).columns });
  const ask = inquirer.createPromptModule({ input: io.stdin, output } as never);
  return (await ask([question] as never)) as T;
}
