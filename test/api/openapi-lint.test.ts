/**
 * The served OpenAPI document (GET /api/openapi.json) passes Redocly CLI's lint with its
 * recommended rules (redocly.yaml says which are off and why), errors and warnings alike: the
 * document is written to a temp file and linted by the CLI installed in node_modules.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { PROJECT_ROOT } from '../../src/paths.js';
import { startApp, type TestApp } from '../helpers/app.js';

const run = promisify(execFile);

let app: TestApp;
let doc: any;

test.before(async () => {
  // With the adapter on, so the document linted holds every route there is.
  app = await startApp({ env: { LEGACY_API_PREFIX: '/legacy' } });
  const res = await app.client().get('/api/openapi.json');
  if (res.status !== 200) throw new Error(`GET /api/openapi.json: ${res.status} ${res.text}`);
  doc = res.body;
});
test.after.always(async () => {
  await app?.close();
});

interface Problem {
  ruleId: string;
  severity: string;
  message: string;
  location?: { pointer?: string }[];
}

test('when the served document is linted by Redocly CLI with the recommended rules, then it has no error and no warning', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'watchstore-openapi-lint-'));
  try {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const cli = path.join(PROJECT_ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
    const args = [cli, 'lint', file, '--config', path.join(PROJECT_ROOT, 'redocly.yaml'), '--format', 'json'];
    // No telemetry and no update check: CI has no internet.
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' };
    const result = await run(process.execPath, args, { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
    let problems: Problem[];
    try {
      problems = JSON.parse(result.stdout).problems;
    } catch {
      return t.fail(`redocly lint printed no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    const lines = problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location?.[0]?.pointer ?? '?'}: ${p.message}`);
    const untagged = problems.filter((p) => p.ruleId === 'tag-description');
    t.deepEqual(lines, [], untagged.length ? 'a route tag without a description: add it to TAG_DESCRIPTIONS in src/http/tags.ts' : 'lint problems');
    t.is(result.code, 0, result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when an operation takes input or needs sign-in, then it documents a 4xx (the precise form of operation-4xx-response)', (t) => {
  let checked = 0;
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const takesInput = (op.parameters ?? []).some((x: any) => x.in === 'path' || x.in === 'query') || Boolean(op.requestBody);
      const signedIn = (op.security ?? []).length > 0;
      if (!takesInput && !signedIn) continue;
      checked++;
      const fourXx = Object.keys(op.responses).filter((s) => /^4(\d\d|XX)$/.test(s));
      t.true(fourXx.length > 0, `${method.toUpperCase()} ${p} takes input or needs sign-in but documents no 4xx`);
    }
  }
  t.true(checked > 10, `only ${checked} operations take input`);
});

test('when the document is served, then every tag has a description, public operations say they need no scheme, and only used shared responses are listed', (t) => {
  for (const tag of doc.tags) t.truthy(tag.description, `tag ${tag.name} has a description (src/http/tags.ts)`);
  const refs = JSON.stringify(doc.paths);
  for (const name of Object.keys(doc.components.responses)) t.true(refs.includes(`"#/components/responses/${name}"`), `${name} is used`);
  t.deepEqual(doc.paths['/api/health'].get.security, []);
  t.deepEqual(doc.paths['/api/products'].get.security, []);
  t.is(doc.info.license.name, 'UNLICENSED');
  const answers = JSON.stringify(Object.values<any>(doc.paths).flatMap((item) => Object.values<any>(item).map((op) => op.responses)));
  t.false(answers.includes(String(Number.MAX_SAFE_INTEGER)), "no answer carries zod's ±MAX_SAFE_INTEGER bounds");
  t.deepEqual(doc.servers, [{ url: '/', description: 'The store serving this document' }]);
});
