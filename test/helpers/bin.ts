/**
 * The shipped CLI, `bin/watchstore.js`, which runs the compiled dist/. Importing this module
 * checks that dist/ is there and not older than the sources it runs (`npm test` builds first):
 * the CLI and server tests refuse to test yesterday's code.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export const ROOT = PROJECT_ROOT;
export const BIN = path.join(ROOT, 'bin', 'watchstore.js');

/**
 * Throws unless every source file the CLI can load (the relative import graph of the compiled
 * main.js, static and lazy, plus all migrations) has a compiled counterpart at least as new.
 * Files the CLI never loads (the HTTP server, for one) do not count.
 */
function assertDistFresh(): void {
  const dist = path.join(ROOT, 'dist');
  const main = path.join(dist, 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` before the CLI tests (npm test does).');
  const compiled = new Set<string>();
  const pending = [main];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (compiled.has(file)) continue;
    compiled.add(file);
    if (!existsSync(file)) continue; // reported below if its source exists
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      pending.push(path.resolve(path.dirname(file), m[1]));
    }
  }
  for (const entry of readdirSync(path.join(ROOT, 'migrations'))) {
    if (entry.endsWith('.ts')) compiled.add(path.join(dist, 'migrations', entry.replace(/\.ts$/, '.js')));
  }
  for (const file of compiled) {
    const source = path.join(ROOT, path.relative(dist, file)).replace(/\.js$/, '.ts');
    if (!existsSync(source)) continue;
    if (!existsSync(file) || statSync(file).mtimeMs < statSync(source).mtimeMs) {
      throw new Error(`dist/ is older than ${path.relative(ROOT, source)}: run \`npm run build\` before the CLI tests (npm test does).`);
    }
  }
}
assertDistFresh();
