/**
 * Malformed requests against every operation of the app's own OpenAPI document, over real HTTP
 * on SQLite or MariaDB (TEST_DB=mysql): wrong types, huge and deep JSON, bad encodings and
 * charsets, wrong content types, odd ids, methods and query strings, with and without (good,
 * forged, expired) auth, and signed webhooks that are not events. Any 5xx, a request that does
 * not answer within its timeout, or a crash of the server fails the test (issue 10).
 *
 * Deterministic: the cases come from a seeded generator (FUZZ_SEED to try another seed), so a
 * failure names a case that can be replayed.
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import jwt from 'jsonwebtoken';
import { startApp, type TestApp, UNLIMITED_AUTH } from '../helpers/app.js';
import { signAccessToken } from '../../src/auth/access-token.js';
import { FakeStripe, signPayload } from '../helpers/fake-stripe.js';
import { createUser } from '../helpers/services.js';

const SECRET = 'whsec_test_fuzz';
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const CASES_PER_OPERATION = Number(process.env.FUZZ_CASES ?? 24);
const REQUEST_TIMEOUT_MS = 10_000;

let app: TestApp;
let stripe: FakeStripe;

test.before(async () => {
  stripe = await FakeStripe.start();
  app = await startApp({
    seed: true,
    env: stripe.env({
      STRIPE_WEBHOOK_SECRET: SECRET,
      // The compatibility adapter's routes are in the document (and fuzzed) only when it is on.
      LEGACY_API_PREFIX: '/legacy',
      ...UNLIMITED_AUTH,
    }),
  });
});
test.after.always(async () => {
  await app?.close();
  await stripe?.close();
});

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  2_147_483_648,
  '',
  ' ',
  '0',
  '-1',
  '1e999',
  'NaN',
  '0x10',
  'x'.repeat(5000),
  '\u0000',
  '\ud800',
  '𝕏𝕏𝕏',
  'e\u0301\u200b',
  '../../etc/passwd',
  "' OR '1'='1",
  '<script>alert(1)</script>',
  [],
  {},
  [[[[]]]],
  { $ne: null },
  { __proto__: { admin: true } },
  ['a', 1, null],
];

const ODD_IDS = [
  '0',
  '-1',
  '1.0',
  '1e3',
  '0x1',
  '01',
  '99999999999999999999',
  '2147483648',
  'abc',
  '%00',
  '%ff',
  '%E2%80%AE1',
  '..%2f..%2fetc',
  '1;DROP',
  '%zz',
  '9'.repeat(400),
  ' 1',
  '1',
  '2',
];

const ODD_QUERY_VALUES = [
  '',
  '-1',
  '0',
  '1e999',
  'NaN',
  'Infinity',
  '%zz',
  '%00',
  'x'.repeat(3000),
  'true',
  'maybe',
  '1.5',
  '2147483648',
  '%E2%80%AE',
  "'--",
  '[]',
  '{}',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
  ';;;',
];

interface Auth {
  name: string;
  headers: Record<string, string>;
}

interface Operation {
  method: string;
  path: string;
  query: { name: string; schema: Record<string, any> }[];
  body?: Record<string, any>;
  /** The file field of a multipart/form-data body (a file upload). */
  fileField?: string;
}

/** A value of roughly the schema's type, to start a body from before it is spoiled. */
function sampleOf(schema: Record<string, any> | undefined, r: Rng): unknown {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  if (schema?.enum) return r.pick(schema.enum as unknown[]);
  if (type === 'integer') return 1 + r.int(3);
  if (type === 'number') return 1.5;
  if (type === 'boolean') return true;
  if (type === 'array') return [sampleOf(schema?.items, r)];
  if (type === 'object') return Object.fromEntries(Object.entries<Record<string, any>>(schema?.properties ?? {}).map(([k, s]) => [k, sampleOf(s, r)]));
  return 'x';
}

function deepJson(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  label: string;
}

function bodyCase(op: Operation, r: Rng): { body: Buffer; label: string; contentType?: string; encoding?: string } {
  const base = (sampleOf(op.body, r) ?? {}) as Record<string, unknown>;
  switch (r.int(9)) {
    case 0: {
      const keys = Object.keys(base);
      const k = keys.length ? r.pick(keys) : 'x';
      const v = r.pick(ODD_VALUES);
      return { body: Buffer.from(JSON.stringify({ ...base, [k]: v })), label: `field ${k} = ${JSON.stringify(v)?.slice(0, 30)}` };
    }
    case 1:
      return { body: Buffer.from(JSON.stringify(r.pick(ODD_VALUES))), label: 'odd top-level JSON' };
    case 2:
      return { body: Buffer.from(deepJson(r.pick([1000, 20_000, 50_000]))), label: 'deep JSON' };
    case 3:
      return { body: Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(r.pick([90_000, 101_000, 400_000])) })), label: 'huge JSON' };
    case 4:
      return {
        body: Buffer.from(r.pick(['{', '{"a":', '{"a":1}}', "{'a':1}", 'null null', '\ufeff{}', '{"a":1,"a":2}', '{"__proto__":{"x":1}}'])),
        label: 'broken JSON',
      };
    case 5:
      return { body: Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), label: 'invalid UTF-8' };
    case 6: {
      const encoding = r.pick(['gzip', 'deflate', 'br', 'compress', 'gzip, br']);
      const body = r.chance(0.5) ? Buffer.from('not compressed') : gzipSync(Buffer.from(JSON.stringify(base)));
      return { body, label: `Content-Encoding ${encoding}`, encoding };
    }
    case 7: {
      const contentType = r.pick(CONTENT_TYPES);
      return { body: Buffer.from(JSON.stringify(base)), label: `Content-Type ${contentType || '(none)'}`, contentType };
    }
    default:
      return { body: Buffer.from(JSON.stringify({ ...base, role: 'admin', id: 1, user_id: 2, extra: r.pick(ODD_VALUES) })), label: 'extra fields' };
  }
}

const MAGIC = [
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'),
  Buffer.from('GIF89a'),
];

/** A spoiled multipart/form-data body for a file upload: never a decodable image. */
function multipartCase(field: string, r: Rng): { body: Buffer; label: string; contentType?: string; encoding?: string } {
  const boundary = r.pick(['b0undary', 'x', '-'.repeat(70), 'a b']);
  const junk = () => Buffer.concat([r.pick(MAGIC), Buffer.from(Array.from({ length: r.int(4000) }, () => r.int(256)))]);
  const part = (name: string, filename: string, bytes: Buffer) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`),
      bytes,
      Buffer.from('\r\n'),
    ]);
  const end = Buffer.from(`--${boundary}--\r\n`);
  const kind = r.int(7);
  const variants: [string, Buffer][] = [
    ['image magic + junk', Buffer.concat([part(field, 'a.png', junk()), end])],
    ['no closing boundary', part(field, 'a.png', junk())],
    ['empty file', Buffer.concat([part(field, '', Buffer.alloc(0)), end])],
    ['two files', Buffer.concat([part(field, 'a.png', junk()), part(field, 'b.png', junk()), end])],
    ['another field', Buffer.concat([part('other', 'a.png', junk()), end])],
    ['odd file name', Buffer.concat([part(field, r.pick(['../../x.png', '\0.png', '%00', 'x'.repeat(5000), '"; name="x']), junk()), end])],
    ['garbage', Buffer.from(Array.from({ length: r.int(3000) }, () => r.int(256)))],
  ];
  const [label, body] = variants[kind];
  return { body, label: `multipart: ${label}`, contentType: r.chance(0.9) ? `multipart/form-data; boundary=${boundary}` : 'multipart/form-data' };
}

function makeCase(op: Operation, auths: Auth[], r: Rng): Case {
  const auth = r.pick(auths);
  const headers: Record<string, string> = { ...auth.headers };
  const labels = [auth.name];
  let path = op.path.replace(/\{[^}]+\}/g, () => r.pick(ODD_IDS));
  let method = op.method;
  if (r.chance(0.08)) {
    method = r.pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
    labels.push(`method ${method}`);
  }
  if (op.query.length || r.chance(0.2)) {
    const parts: string[] = [];
    for (const q of op.query) if (r.chance(0.6)) parts.push(`${q.name}=${r.chance(0.3) ? String(sampleOf(q.schema, r)) : r.pick(ODD_QUERY_VALUES)}`);
    if (r.chance(0.3) && op.query.length) parts.push(`${r.pick(op.query).name}=a`, `${r.pick(op.query).name}=b`); // repeated
    if (r.chance(0.2)) parts.push(r.pick(['a[b]=c', '__proto__[x]=1', '=', '&&', 'x', '%zz=%zz']));
    if (parts.length) path += `?${parts.join('&')}`;
  }
  let body: Buffer | undefined;
  if (op.fileField || op.body || (method !== 'GET' && method !== 'HEAD' && r.chance(0.3))) {
    const b = op.fileField && r.chance(0.7) ? multipartCase(op.fileField, r) : bodyCase(op, r);
    body = b.body;
    labels.push(b.label);
    if (b.contentType !== undefined) {
      if (b.contentType) headers['content-type'] = b.contentType;
    } else headers['content-type'] = 'application/json';
    if (b.encoding) headers['content-encoding'] = b.encoding;
  }
  if (r.chance(0.1)) headers['if-none-match'] = r.pick(['*', '"x"', 'W/"1", "2"', ',,,', 'x'.repeat(2000)]);
  if (r.chance(0.1)) headers['idempotency-key'] = r.pick(['', 'x'.repeat(1000), 'key with spaces', '%00']);
  if (r.chance(0.05)) headers['x-request-id'] = r.pick(['../../x', 'x'.repeat(500)]);
  if (r.chance(0.1)) headers.origin = r.pick(['https://evil.example', 'null', 'http://127.0.0.1']);
  return { method, path, headers, body, label: `${method} ${path.slice(0, 80)} [${labels.join('; ')}]` };
}

/** One request over a fresh connection; rejects when no answer comes within the timeout. */
function send(c: Case): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(app.url + c.path.replace(/ /g, '%20'));
    const req = http.request(
      { host: url.hostname, port: url.port, method: c.method, path: url.pathname + url.search, headers: c.headers, agent: false, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(c.body);
  });
}

async function operationsOf(): Promise<Operation[]> {
  const doc = (await app.client().get('/api/openapi.json')).body;
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      ops.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => ({ name: p.name, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
        fileField: Object.keys(op.requestBody?.content?.['multipart/form-data']?.schema?.properties ?? {})[0],
      });
    }
  }
  return ops;
}

/** Signed webhook bodies: valid signatures over JSON that is, or is almost, a Stripe event. */
function webhookCases(r: Rng, n: number): Case[] {
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) {
    const event: Record<string, unknown> = {
      id: `evt_fuzz_${i}`,
      object: 'event',
      type: r.pick(['payment_intent.succeeded', 'payment_intent.canceled', 'payment_intent.payment_failed', 'charge.refunded']),
      data: { object: { object: 'payment_intent', id: `pi_fuzz_${i}`, amount: 100, currency: 'usd', metadata: { order_id: '1', user_id: '1' } } },
    };
    const spoil = r.int(5);
    if (spoil === 0) event[r.pick(['id', 'type', 'data'])] = r.pick(ODD_VALUES);
    else if (spoil === 1)
      (event.data as Record<string, Record<string, unknown>>).object[
        r.pick(['id', 'amount', 'amount_received', 'currency', 'metadata', 'status', 'last_payment_error'])
      ] = r.pick(ODD_VALUES);
    const payload = spoil === 2 ? JSON.stringify(r.pick(ODD_VALUES)) : JSON.stringify(event);
    cases.push({
      method: 'POST',
      path: '/api/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': signPayload(payload, SECRET) },
      body: Buffer.from(payload),
      label: `signed webhook ${payload.slice(0, 100)}`,
    });
  }
  return cases;
}

test('when every operation of the OpenAPI document gets malformed requests, then none answers 5xx or hangs, and the server stays up', async (t) => {
  const r = rng(SEED);
  const client = app.client();
  const signup = await client.post('/api/auth/signup', { username: 'fuzzer', email: 'fuzzer@example.com', password: 'correct horse 1' });
  t.is(signup.status, 201, signup.text);
  const access = client.cookies.get('access_token')!;
  // Something to find: a cart line and an order of the fuzzer's (ids 1 and up exist).
  t.is((await client.post('/api/cart', { product_id: 1, quantity: 1 })).status, 200);
  t.is((await client.post('/api/orders')).status, 201);
  t.is((await client.post('/api/cart', { product_id: 2, quantity: 2 })).status, 200);
  const secret = app.config.accessTokenSecret;
  // An admin, so the admin routes' handlers are reached too (their role is read from the database).
  const admin = await createUser(app.t.db, { username: 'fuzzadmin', email: 'fuzzadmin@example.com', password: 'correct horse 1', role: 'admin' });
  const adminAuth = { name: 'admin bearer', headers: { authorization: `Bearer ${signAccessToken({ id: admin.id, role: 'admin' }, secret)}` } };
  const auths: Auth[] = [
    { name: 'no auth', headers: {} },
    { name: 'bearer', headers: { authorization: `Bearer ${access}` } },
    { name: 'cookies', headers: { cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } },
    { name: 'forged bearer', headers: { authorization: `Bearer ${jwt.sign({ sub: '1', role: 'admin' }, 'not the secret')}` } },
    { name: 'expired bearer', headers: { authorization: `Bearer ${jwt.sign({ sub: String(signup.body.user.id), role: 'customer', exp: 1 }, secret)}` } },
    { name: 'alg none', headers: { authorization: `Bearer ${jwt.sign({ sub: '1', role: 'admin' }, '', { algorithm: 'none' })}` } },
    { name: 'odd sub', headers: { authorization: `Bearer ${jwt.sign({ sub: 'x', role: 'root' }, secret)}` } },
    { name: 'garbage', headers: { authorization: 'Bearer a.b.c', cookie: 'access_token=%zz; refresh_token=%00' } },
  ];
  // Signed-in requests get past the auth check, so they are the more searching half.
  auths.push(...auths.slice(1, 3), ...auths.slice(1, 3), ...auths.slice(1, 3), adminAuth, adminAuth, adminAuth, adminAuth);

  const ops = await operationsOf();
  t.true(ops.length >= 15, `operations: ${ops.length}`);
  const cases: Case[] = [];
  for (const op of ops) for (let i = 0; i < CASES_PER_OPERATION; i++) cases.push(makeCase(op, auths, r));
  cases.push(...webhookCases(r, 40));

  const byStatus = new Map<number, number>();
  const failures: string[] = [];
  // A few at a time, as several clients would.
  const queue = [...cases];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          const status = await send(c);
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`${status} ${c.label}`);
        } catch (err) {
          failures.push(`${(err as Error).message}: ${c.label}`);
        }
      }
    }),
  );
  t.log(`${cases.length} requests (seed ${SEED}):`, Object.fromEntries([...byStatus].sort(([a], [b]) => a - b)));
  t.deepEqual(failures, []);
  // Still up, still answering.
  t.is((await app.client().get('/api/health')).status, 200);
});
