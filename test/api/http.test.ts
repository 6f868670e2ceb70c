/**
 * Cross-cutting HTTP behaviour: security headers, CORS, body limits and content types, request
 * ids, what a 500 shows, and the one log line per request (and what it must never contain).
 */
import http from 'node:http';
import { readdirSync } from 'node:fs';
import test from 'ava';
import type { DestinationStream } from 'pino';
import { DEFAULT_IMAGES_DIR } from '../../src/paths.js';
import { startApp, type TestApp } from '../helpers/app.js';

const SHOP = 'http://shop.example.test';
const OTHER = 'http://evil.example.test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The app's log lines, parsed, as a test can read them. */
function logCapture(): { stream: DestinationStream; lines: Array<Record<string, any>>; text: () => string } {
  const raw: string[] = [];
  const lines: Array<Record<string, any>> = [];
  return {
    stream: {
      write(s: string) {
        raw.push(s);
        for (const l of s.split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      },
    },
    lines,
    text: () => raw.join(''),
  };
}

/** Polls `probe` until it returns something, or fails after `ms` (no fixed sleeps). */
async function eventually<T>(probe: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

const logs = logCapture();
let app: TestApp;
test.before(async () => {
  app = await startApp({
    seed: true,
    logStream: logs.stream,
    env: {
      LOG_LEVEL: 'info',
      CORS_ORIGINS: `${SHOP}, http://admin.example.test`,
      RATE_LIMIT_SIGNUP_PER_IP: '1000',
      RATE_LIMIT_SIGNIN_PER_IP: '1000',
      RATE_LIMIT_SIGNIN_PER_IP_LOGIN: '1000',
    },
  });
});
test.after.always(async () => {
  await app?.close();
});

/** A raw request, for what fetch will not send (chunked bodies without a length, odd headers). */
function rawRequest(
  opts: http.RequestOptions & { url: string },
  write: (req: http.ClientRequest) => void,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(opts.url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, ...opts, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    // The server may answer (and stop reading) before the whole body is sent; that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    write(req);
  });
}

test('when any response is sent, then it carries the security headers of an API', async (t) => {
  for (const path of ['/api/health', '/api/nope']) {
    const res = await app.client().get(path);
    t.is(res.headers.get('x-content-type-options'), 'nosniff', path);
    t.is(res.headers.get('x-frame-options'), 'DENY', path);
    t.regex(res.headers.get('content-security-policy') ?? '', /default-src 'none'/, path);
    t.regex(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
    t.is(res.headers.get('referrer-policy'), 'no-referrer', path);
    t.truthy(res.headers.get('strict-transport-security'), path);
    t.is(res.headers.get('x-powered-by'), null, path);
  }
});

test('when a shop on another origin shows a product image, then the resource policy lets it', async (t) => {
  const file = readdirSync(DEFAULT_IMAGES_DIR).find((f) => f.endsWith('.svg'))!;
  const res = await app.client().get(`/images/${file}`, { Origin: OTHER });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  t.is(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
  const api = await app.client().get('/api/products?limit=1');
  t.is(api.headers.get('cross-origin-resource-policy'), 'cross-origin');
});

test('when an allowed origin calls the API, then CORS allows it with credentials and exposes the request id', async (t) => {
  const res = await app.client().get('/api/products?limit=1', { Origin: SHOP });
  t.is(res.status, 200);
  t.is(res.headers.get('access-control-allow-origin'), SHOP);
  t.is(res.headers.get('access-control-allow-credentials'), 'true');
  t.regex(res.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/i);
  t.regex(res.headers.get('vary') ?? '', /Origin/);

  const second = await app.client().get('/api/health', { Origin: 'http://admin.example.test' });
  t.is(second.headers.get('access-control-allow-origin'), 'http://admin.example.test');
});

test('when an allowed origin sends a preflight, then it may POST JSON with cookies', async (t) => {
  const res = await app.client().request('OPTIONS', '/api/cart', {
    headers: { Origin: SHOP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  t.is(res.status, 204);
  t.is(res.headers.get('access-control-allow-origin'), SHOP);
  t.is(res.headers.get('access-control-allow-credentials'), 'true');
  t.regex(res.headers.get('access-control-allow-methods') ?? '', /POST/);
  t.regex(res.headers.get('access-control-allow-headers') ?? '', /Content-Type/i);
});

test('when any other origin calls or preflights, then no CORS header is sent at all', async (t) => {
  const get = await app.client().get('/api/products?limit=1', { Origin: OTHER });
  t.is(get.status, 200);
  t.is(get.headers.get('access-control-allow-origin'), null);
  t.is(get.headers.get('access-control-allow-credentials'), null);

  const pre = await app.client().request('OPTIONS', '/api/cart', {
    headers: { Origin: OTHER, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  t.is(pre.headers.get('access-control-allow-origin'), null);
  t.is(pre.headers.get('access-control-allow-credentials'), null);
  t.is(pre.headers.get('access-control-allow-methods'), null);

  // A near miss of an allowed origin is another origin.
  const near = await app.client().get('/api/health', { Origin: `${SHOP}.evil.test` });
  t.is(near.headers.get('access-control-allow-origin'), null);
});

const oneMegabyteJson = () => JSON.stringify({ login: 'someone', password: 'x'.repeat(1024 * 1024) });

test('when a body of 1 MB declares its length, then the answer is 413 PAYLOAD_TOO_LARGE', async (t) => {
  const res = await app.client().request('POST', '/api/auth/signin', { body: oneMegabyteJson(), headers: { 'content-type': 'application/json' } });
  t.is(res.status, 413);
  t.is(res.body.error.code, 'PAYLOAD_TOO_LARGE');
  t.regex(res.headers.get('x-request-id') ?? '', UUID);
});

test('when a body of 1 MB comes chunked without a length, then the answer is 413 PAYLOAD_TOO_LARGE', async (t) => {
  const body = oneMegabyteJson();
  const res = await rawRequest(
    { url: `${app.url}/api/auth/signin`, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
    (req) => {
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.slice(i, i + 16 * 1024));
      req.end();
    },
  );
  t.is(res.status, 413);
  t.is(JSON.parse(res.body).error.code, 'PAYLOAD_TOO_LARGE');
  t.truthy(res.headers['x-request-id']);
});

test('when a body just under 100 kB is sent, then it is read (the limit is not lower than documented)', async (t) => {
  const body = JSON.stringify({ login: 'nobody-here', password: 'y'.repeat(1000), padding: 'p'.repeat(95 * 1024) });
  const res = await app.client().request('POST', '/api/auth/signin', { body, headers: { 'content-type': 'application/json' } });
  t.is(res.status, 401, res.text);
  t.is(res.body.error.code, 'INVALID_CREDENTIALS');
});

test('when a body is plain text or a form, then the answer is 415 UNSUPPORTED_MEDIA_TYPE', async (t) => {
  const text = await app.client().request('POST', '/api/auth/signin', { body: '{"login":"a","password":"b"}', headers: { 'content-type': 'text/plain' } });
  t.is(text.status, 415);
  t.is(text.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');

  const form = await app
    .client()
    .request('POST', '/api/auth/signin', { body: 'login=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.is(form.status, 415);
  t.is(form.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
  t.truthy(form.headers.get('x-request-id'));
});

test('when a JSON body does not parse, then the answer is 400 INVALID_JSON', async (t) => {
  const res = await app.client().request('POST', '/api/auth/signin', { body: '{"login": "a", "password": ', headers: { 'content-type': 'application/json' } });
  t.is(res.status, 400);
  t.is(res.body.error.code, 'INVALID_JSON');
  t.is(typeof res.body.error.message, 'string');
});

test('when a known path is called with a method it does not support, then 405 METHOD_NOT_ALLOWED in the JSON envelope, with Allow', async (t) => {
  for (const [method, path, allow] of [
    ['PUT', '/api/products', 'HEAD, GET'],
    ['DELETE', '/api/products/1', 'HEAD, GET'],
    ['PROPFIND', '/api/products', 'HEAD, GET'], // a method no route uses at all (the router's 501)
  ] as const) {
    const res = await app.client().request(method, path);
    t.is(res.status, 405, `${method} ${path}`);
    t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
    t.is(res.body.error?.code, 'METHOD_NOT_ALLOWED', res.text);
    t.regex(res.body.error?.message ?? '', new RegExp(`${method}.*${path.replace(/\//g, '\\/')}`));
    t.deepEqual((res.headers.get('allow') ?? '').split(/,\s*/).sort(), allow.split(', ').sort(), `${method} ${path}`);
    t.truthy(res.headers.get('x-request-id'));
  }
  // A supported method on the same path is untouched; an unknown path stays a 404.
  t.is((await app.client().get('/api/products')).status, 200);
  const unknown = await app.client().request('PROPFIND', '/api/no-such-thing');
  t.is(unknown.status, 404);
  t.is(unknown.body.error?.code, 'NOT_FOUND');
  t.is(unknown.headers.get('allow'), null);
});

test('when any response is sent, errors and 404s included, then it has an X-Request-Id; a sane incoming one is kept', async (t) => {
  const c = app.client();
  const answers = [
    await c.get('/api/health'),
    await c.get('/api/nope'),
    await c.get('/api/auth/me'),
    await c.get('/api/products?limit=0'),
    await c.get('/images/missing.svg'),
  ];
  t.deepEqual(
    answers.map((r) => r.status),
    [200, 404, 401, 400, 404],
  );
  const ids = answers.map((r) => r.headers.get('x-request-id') ?? '');
  for (const id of ids) t.regex(id, UUID);
  t.is(new Set(ids).size, ids.length, 'every request gets its own id');

  const kept = await c.get('/api/nope', { 'X-Request-Id': 'edge-proxy.4711' });
  t.is(kept.headers.get('x-request-id'), 'edge-proxy.4711');
  const replaced = await c.get('/api/health', { 'X-Request-Id': 'no spaces or "quotes" allowed' });
  t.regex(replaced.headers.get('x-request-id') ?? '', UUID);
});

test('when each request ends, then exactly one log line records method, path, status, duration, request id and user', async (t) => {
  const c = app.client();
  const signup = await c.post('/api/auth/signup', {
    username: `logged_${process.pid}`,
    email: `logged_${process.pid}@example.com`,
    password: 'log-line-password-1',
  });
  t.is(signup.status, 201, signup.text);
  const me = await c.get('/api/auth/me');
  t.is(me.status, 200);
  const search = await c.get('/api/products?q=confidential-search-text');
  t.is(search.status, 200);

  const lineOf = async (res: { headers: Headers }) => {
    const id = res.headers.get('x-request-id');
    const line = await eventually(() => logs.lines.find((l) => l.req_id === id && l.msg === 'request'));
    t.is(logs.lines.filter((l) => l.req_id === id && l.msg === 'request').length, 1, 'one line per request');
    return line;
  };
  const s = await lineOf(signup);
  t.like(s, { method: 'POST', path: '/api/auth/signup', status: 201 });
  t.is(typeof s.duration_ms, 'number');
  t.true(s.duration_ms >= 0);

  const m = await lineOf(me);
  t.like(m, { method: 'GET', path: '/api/auth/me', status: 200, user_id: signup.body.user.id });

  const q = await lineOf(search);
  t.is(q.path, '/api/products', 'no query string in the log');
  t.false(logs.text().includes('confidential-search-text'));
});

test('when a user signs up, signs in and calls with cookies and a bearer token, then no password, token or cookie reaches the log', async (t) => {
  const c = app.client();
  const password = 'never-log-this-password-42';
  const account = { username: `secret_${process.pid}`, email: `secret_${process.pid}@example.com`, password };
  t.is((await c.post('/api/auth/signup', account)).status, 201);
  const signin = await c.post('/api/auth/signin', { login: account.username, password });
  t.is(signin.status, 200);
  const access = c.cookies.get('access_token')!;
  const refresh = c.cookies.get('refresh_token')!;
  t.truthy(access);
  t.truthy(refresh);
  t.is((await c.get('/api/auth/me')).status, 200);
  const bearer = await app.client().get('/api/auth/me', { Authorization: `Bearer ${access}` });
  t.is(bearer.status, 200);
  const wrong = await app.client().post('/api/auth/signin', { login: account.username, password: 'a-wrong-password-to-log' });
  t.is(wrong.status, 401);
  await eventually(() => logs.lines.find((l) => l.req_id === wrong.headers.get('x-request-id')));

  const text = logs.text();
  for (const secret of [password, 'a-wrong-password-to-log', access, refresh, access.split('.')[2]]) {
    t.false(text.includes(secret), `the log contains ${secret.slice(0, 12)}…`);
  }
  t.false(/"cookie"|"authorization"|set-cookie/i.test(text));
});

test('when a query fails unexpectedly, then the 500 body names only the request id while the log keeps the cause', async (t) => {
  const capture = logCapture();
  const broken = await startApp({ seed: true, logStream: capture.stream, env: { LOG_LEVEL: 'info' } });
  t.teardown(() => broken.close());
  t.is((await broken.client().get('/api/products')).status, 200);

  // Pull a table out from under the running app: a genuine failure, not a test hook.
  await broken.t.db.schema.renameTable('products', 'products_gone');

  const res = await broken.client().get('/api/products?limit=5');
  t.is(res.status, 500);
  const id = res.headers.get('x-request-id')!;
  t.regex(id, UUID);
  t.deepEqual(Object.keys(res.body), ['error']);
  t.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message']);
  t.is(res.body.error.code, 'INTERNAL');
  t.true(res.body.error.message.includes(id));
  t.false(/select|from|products|sqlite|ER_|no such|table|\bat\s|\.ts:|\.js:/i.test(res.body.error.message.replace(id, '')), res.text);
  t.false(/stack|sql/i.test(res.text));

  const logged = await eventually(() => capture.lines.find((l) => l.req_id === id && l.level >= 50 && l.msg !== 'request'));
  t.regex(JSON.stringify(logged.err), /products/, 'the cause is in the log for the operator');
  const line = await eventually(() => capture.lines.find((l) => l.req_id === id && l.msg === 'request'));
  t.is(line.status, 500);
});
