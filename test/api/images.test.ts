import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT } from '../../src/paths.js';
import { startApp, type TestApp } from '../helpers/app.js';

/*
 * A site of our own: images/ holds a picture, a dotfile, a directory and a symlink leading out;
 * beside it lie the secrets a traversal would want. The app serves IMAGES_DIR=<site>/images.
 */
const site = mkdtempSync(path.join(os.tmpdir(), 'ws-images-'));
const dir = path.join(site, 'images');
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"><rect width="2" height="2"/></svg>\n';
const SECRET = 'TOP-SECRET-DO-NOT-SERVE';

let app: TestApp;
let defaults: TestApp;

test.before(async () => {
  mkdirSync(path.join(dir, 'nested'), { recursive: true });
  writeFileSync(path.join(dir, 'watch.svg'), SVG);
  writeFileSync(path.join(dir, '.hidden.svg'), SECRET);
  writeFileSync(path.join(dir, 'nested', 'inner.svg'), SECRET);
  writeFileSync(path.join(site, 'outside.svg'), SECRET);
  writeFileSync(path.join(site, 'package.json'), SECRET);
  symlinkSync(path.join(site, 'outside.svg'), path.join(dir, 'link-out.svg'));
  [app, defaults] = await Promise.all([startApp({ env: { IMAGES_DIR: dir } }), startApp({ seed: true })]);
});
test.after.always(async () => {
  await Promise.all([app?.close(), defaults?.close()]);
  rmSync(site, { recursive: true, force: true });
});

/** A request with the path sent byte for byte: fetch() would normalise `..` and `%2e%2e` away. */
function raw(base: string, rawPath: string, method = 'GET', headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('when an image exists, then it is served with its type, length and cache headers', async (t) => {
  const res = await raw(app.url, '/images/watch.svg');
  t.is(res.status, 200);
  t.is(res.text, SVG);
  t.is(res.headers['content-type'], 'image/svg+xml');
  t.is(res.headers['content-length'], String(Buffer.byteLength(SVG)));
  t.is(res.headers['cache-control'], 'public, max-age=86400');
  t.truthy(res.headers.etag);
  t.false(Number.isNaN(Date.parse(res.headers['last-modified']!)));
  t.is(res.headers['x-content-type-options'], 'nosniff');
  t.regex(String(res.headers['content-security-policy']), /sandbox/, 'an SVG opened directly cannot run script');
});

test('when the client revalidates with the ETag or Last-Modified, then the answer is 304 without a body', async (t) => {
  const first = await raw(app.url, '/images/watch.svg');
  const byEtag = await raw(app.url, '/images/watch.svg', 'GET', { 'if-none-match': first.headers.etag! });
  t.is(byEtag.status, 304);
  t.is(byEtag.text, '');
  t.is(byEtag.headers.etag, first.headers.etag);
  const byDate = await raw(app.url, '/images/watch.svg', 'GET', { 'if-modified-since': first.headers['last-modified']! });
  t.is(byDate.status, 304);
  const changed = await raw(app.url, '/images/watch.svg', 'GET', { 'if-none-match': '"something-else"' });
  t.is(changed.status, 200);
  t.is(changed.text, SVG);
  const old = await raw(app.url, '/images/watch.svg', 'GET', { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' });
  t.is(old.status, 200);
});

test('when the image is asked for with HEAD, then the headers come without the body', async (t) => {
  const res = await raw(app.url, '/images/watch.svg', 'HEAD');
  t.is(res.status, 200);
  t.is(res.text, '');
  t.is(res.headers['content-length'], String(Buffer.byteLength(SVG)));
  t.is(res.headers['content-type'], 'image/svg+xml');
});

test('when an image does not exist, then the answer is the JSON 404', async (t) => {
  const res = await raw(app.url, '/images/no-such-watch.svg');
  t.is(res.status, 404);
  t.is(JSON.parse(res.text).error.code, 'NOT_FOUND');
});

const ESCAPES = [
  '/images/..%2foutside.svg',
  '/images/..%2Fpackage.json',
  '/images/../outside.svg',
  '/images/../package.json',
  '/images/%2e%2e/outside.svg',
  '/images/%2e%2e%2foutside.svg',
  '/images/%2e%2e/%2e%2e/etc/passwd',
  '/images/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/images/....//outside.svg',
  '/images//etc/passwd',
  '/images/%2fetc%2fpasswd',
  `/images/${encodeURIComponent(path.join(site, 'outside.svg'))}`,
  '/images/..\\outside.svg',
  '/images/..%5coutside.svg',
  '/images/%5c..%5coutside.svg',
  '/images/watch.svg%00',
  '/images/watch.svg%00.png',
  '/images/%00',
  '/images/.hidden.svg',
  '/images/%2ehidden.svg',
  '/images/nested/inner.svg',
  '/images/nested%2finner.svg',
  '/images/nested',
  '/images/link-out.svg',
  '/images/%E0%A4%A',
  '/images/',
  '/images/.',
  '/images/..',
  '/images/%2e%2e',
];

test('when a path tries to leave the images directory (or reach a dotfile, a subdirectory, a symlink out), then it is the JSON 404', async (t) => {
  for (const p of ESCAPES) {
    const res = await raw(app.url, p);
    t.is(res.status, 404, p);
    t.false(res.text.includes(SECRET), p);
    t.is(JSON.parse(res.text).error.code, 'NOT_FOUND', p);
  }
});

test('when the real images directory is used, then every seeded image_url is served and nothing of the project leaks', async (t) => {
  const { body } = await defaults.client().get('/api/products?limit=100');
  t.true(body.items.length > 0);
  for (const p of body.items as { image_url: string }[]) {
    const res = await raw(defaults.url, p.image_url);
    t.is(res.status, 200, p.image_url);
    t.is(res.headers['content-type'], 'image/svg+xml');
    t.is(res.text, readFileSync(path.join(PROJECT_ROOT, p.image_url)).toString('utf8'));
  }
  const pkg = readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8');
  const config = readFileSync(path.join(PROJECT_ROOT, 'src', 'config.ts'), 'utf8');
  for (const p of [
    '/images/..%2fpackage.json',
    '/images/../package.json',
    '/images/../src/config.ts',
    '/images/..%2fsrc%2fconfig.ts',
    '/images/%2e%2e/%2e%2e/etc/passwd',
    '/images/%2e%2e/src/config.ts',
    `/images/${encodeURIComponent(path.join(PROJECT_ROOT, 'package.json'))}`,
    '/images/..%5cpackage.json',
    '/images/package.json%00.svg',
    '/images/.gitignore',
    '/images/..%2f.env.example',
  ]) {
    const res = await raw(defaults.url, p);
    t.is(res.status, 404, p);
    t.is(JSON.parse(res.text).error.code, 'NOT_FOUND', p);
    t.false(res.text.includes(pkg.slice(0, 40)) || res.text.includes(config.slice(0, 40)), p);
  }
});
