/**
 * The README, followed top to bottom on a fresh store (issue 10, item 12): every command in its
 * ```sh blocks is run in order, through bash, and must succeed.
 *
 * How the README's text is run:
 * - A fresh clone's store: an empty temporary directory as the working directory, DATA_DIR in it
 *   (the default SQLite file, as on a fresh checkout; the README's walkthrough is SQLite's), and
 *   `npx watchstore` is the built bin/watchstore.js.
 * - `npm start` is the server this test starts before the first block (`serve`, which migrates
 *   and seeds a fresh store as `npm start` does), with a fake Stripe (test/helpers/fake-stripe.ts)
 *   standing in for the `export STRIPE_…` lines; its address replaces http://127.0.0.1:3000.
 * - Skipped, because they are the test itself or need what a test cannot have: `npm …` (install,
 *   start, test), `bash .ci/run`, `TEST_DB=… npm test`, `export …` (the environment is set here),
 *   and the Stripe CLI (`stripe …`; the payment then stays pending, which the later steps expect).
 * - The reader's own product photo, `watch.jpg` in the working directory, is a small JPEG made
 *   here; IMAGES_DIR is a temporary directory (uploads never land in the checkout's images/).
 * - `curl -s` gets `--fail-with-body`, so an HTTP error (a 409 at sign-up, a 401 after it) fails
 *   the step; each step runs with `set -o pipefail`, so `… | jq` fails when the CLI does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { BIN, ROOT } from '../helpers/bin.js';
import { FakeStripe } from '../helpers/fake-stripe.js';
import { startServerProcess } from '../helpers/server-process.js';

/** The commands of every ```sh block, in order: comments dropped, `\` continuations joined. */
function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/(^|\s)#(?![^']*'(?:[^']*'[^']*')*[^']*$).*$/, '').trim();
      if (line) commands.push(line);
    }
  }
  return commands;
}

const SKIPPED = [/^npm /, /^bash \.ci\/run/, /^TEST_DB=/, /^export /, /^stripe /];

test('when the README is followed top to bottom on a fresh store, then every command succeeds', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stripe = await FakeStripe.start();
  t.teardown(() => stripe.close());
  const env = {
    DATA_DIR: path.join(dir, 'data'),
    DATABASE_URL: undefined,
    DB_HOST: undefined,
    DB_NAME: undefined,
    REDIS_URL: undefined,
    NODE_ENV: 'development',
    NO_COLOR: '1',
    TMPDIR: dir,
    IMAGES_DIR: path.join(dir, 'images'),
    ...stripe.env({ STRIPE_WEBHOOK_SECRET: 'whsec_readme' }),
  };
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#2a4d69' } })
    .jpeg()
    .toFile(path.join(dir, 'watch.jpg'));
  const server = await startServerProcess({ cwd: dir, env });
  t.teardown(() => server.kill());

  const commands = readmeCommands(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  t.true(commands.some((c) => c.startsWith('npx watchstore')));
  const steps = commands
    .filter((c) => !SKIPPED.some((s) => s.test(c)))
    .map((c) => c.replaceAll('http://127.0.0.1:3000', server.url).replace(/\bcurl -s /g, 'curl -s --fail-with-body '));
  t.true(steps.length >= 20, `${steps.length} steps`);

  // One bash for the whole walkthrough; each step reports its status on fd 3.
  const script = [
    'set -o pipefail',
    `npx() { if [ "$1" = watchstore ]; then shift; "${process.execPath}" "${BIN}" "$@"; else command npx "$@"; fi; }`,
    // In braces, not a subshell: variables a line sets (J=…; API=…) stay set for the next.
    ...steps.map((s, i) => `{ ${s} ; } >>"$OUT" 2>&1; echo "${i} $?" >&3`),
  ].join('\n');
  const out = path.join(dir, 'out.txt');
  const child = spawn('bash', ['-c', script], {
    cwd: dir,
    env: Object.fromEntries(Object.entries({ ...process.env, ...env, OUT: out }).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
  });
  let statuses = '';
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (d: string) => (statuses += d));
  await new Promise((resolve) => child.on('close', resolve));
  const failed = statuses
    .trim()
    .split('\n')
    .map((l) => l.split(' ').map(Number))
    .filter(([, code]) => code !== 0)
    .map(([i, code]) => `exit ${code}: ${steps[i]}`);
  t.deepEqual(failed, [], readFileSync(out, 'utf8'));
  t.is(statuses.trim().split('\n').length, steps.length);
});
