import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { ANSI, ROOT, lines, runCli } from '../helpers/cli.js';

const unreachable = { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' };
const forbidHeavy = ['--import', path.join(ROOT, 'test/cli/fixtures/forbid-heavy-modules.mjs')];

test('when --help is run with an unreachable database, then it lists the commands and exits 0', async (t) => {
  const r = await runCli(['--help'], { env: unreachable });
  t.is(r.code, 0, r.stderr);
  for (const command of ['migrate', 'seed', 'doctor', 'users', 'products']) t.regex(r.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  t.regex(r.stdout, /--json/);
  t.regex(r.stdout, /--no-color/);
  t.is(r.stderr, '');
  t.notRegex(r.stdout, ANSI);
});

test('when --help runs with heavy packages forbidden, then it still succeeds (commands are imported lazily)', async (t) => {
  const top = await runCli(['--help'], { env: unreachable, nodeArgs: forbidHeavy });
  t.is(top.code, 0, top.stderr);
  const sub = await runCli(['products', 'stock', '--help'], { env: unreachable, nodeArgs: forbidHeavy });
  t.is(sub.code, 0, sub.stderr);
  t.regex(sub.stdout, /N, \+N or -N/);
});

test('when a command runs with heavy packages forbidden, then it fails (the guard above really guards)', async (t) => {
  const r = await runCli(['products', 'list'], { env: unreachable, nodeArgs: forbidHeavy });
  t.not(r.code, 0);
  t.regex(r.stderr, /heavy module loaded: .*node_modules\/(knex|zod)\//);
});

test('when --version is run, then it prints the version from package.json', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await runCli(['--version'], { env: unreachable });
  t.is(r.code, 0);
  t.is(r.stdout.trim(), version);
});

test('when the store is started with `npm start`, then node gets the memory settings, and V8 honours the young-generation cap', async (t) => {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /^(\S+) node ((?:--\S+ ?)+) bin\/watchstore\.js serve$/.exec(scripts.start);
  t.is(m?.[1], 'MALLOC_ARENA_MAX=2');
  const flags = m![2].trim().split(' ');
  t.deepEqual(flags, ['--max-semi-space-size=8']);
  // The young generation tops out at 2 × 8 MB with it, 2 × 16 MB without.
  const newSpaceMb = async (nodeArgs: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      ...nodeArgs,
      '-e',
      `
      let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }
      process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20));`,
    ]);
    return Number(stdout);
  };
  t.true((await newSpaceMb(flags)) <= 16);
  t.true((await newSpaceMb([])) > 16, 'without the flag it grows further (the probe allocates enough to show it)');
});

test('when the command is unknown, then it exits 2 with one line on stderr', async (t) => {
  const r = await runCli(['prodcts', 'list'], { env: unreachable });
  t.is(r.code, 2);
  t.is(r.stdout, '');
  t.is(lines(r.stderr).length, 1, r.stderr);
  t.regex(r.stderr, /^watchstore: unknown command 'prodcts'/);
});

test('when an option is unknown or an argument is missing, then it exits 2', async (t) => {
  const unknown = await runCli(['products', 'list', '--colour'], { env: unreachable });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /^watchstore: unknown option '--colour'/);
  const missing = await runCli(['products', 'stock', '3'], { env: unreachable });
  t.is(missing.code, 2);
  t.regex(missing.stderr, /missing required argument 'change'/);
  const required = await runCli(['products', 'add', '--name', 'X'], { env: unreachable });
  t.is(required.code, 2);
  t.regex(required.stderr, /products add needs --price and --stock when not run interactively/);
});

test("when a command group is given no subcommand, then it shows that group's help on stderr and exits 2", async (t) => {
  const r = await runCli(['users'], { env: unreachable });
  t.is(r.code, 2);
  t.is(r.stdout, '');
  t.regex(r.stderr, /Usage: watchstore users/);
  t.regex(r.stderr, /passwd/);
});

test('when a password is offered as a flag, then it is refused as an unknown option', async (t) => {
  const r = await runCli(['users', 'add', '--username', 'x', '--email', 'x@example.com', '--password', 'hunter22hunter'], { env: unreachable });
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown option '--password'/);
});
