/**
 * The served OpenAPI document and the router must describe the same API: every method and path
 * the app actually routes is documented, and everything documented is actually served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync } from 'node:fs';
import test from 'ava';
import type Koa from 'koa';
import { loadConfig } from '../../src/config.js';
import { apiRoutes, createApp } from '../../src/http/app.js';
import type { AppState } from '../../src/http/context.js';
import { toOpenApiPath } from '../../src/http/openapi.js';
import { createLogger } from '../../src/logger.js';
import { DEFAULT_IMAGES_DIR } from '../../src/paths.js';
import { Client } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

let database: TestDatabase;
let app: Koa<AppState>;
let server: http.Server;
let client: Client;
let doc: any;

test.before(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ ...process.env, DATABASE_URL: database.url });
  app = createApp({ db: database.db, config, logger: createLogger('silent') });
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const res = await client.get('/api/openapi.json');
  if (res.status !== 200) throw new Error(`GET /api/openapi.json: ${res.status} ${res.text}`);
  doc = res.body;
});
test.after.always(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await database?.drop();
});

interface RouterLike {
  stack: Array<{ methods: string[]; path: string | RegExp }>;
}

/** "GET /api/products/{id}" for every method+path of every router mounted in the app. */
function routed(koa: Koa<AppState>): Set<string> {
  const routers = koa.middleware.map((mw) => (mw as { router?: RouterLike }).router).filter((r): r is RouterLike => Boolean(r));
  if (routers.length === 0) throw new Error('no router found in the app middleware');
  const out = new Set<string>();
  for (const router of routers) {
    for (const layer of router.stack) {
      if (typeof layer.path !== 'string') throw new Error(`a RegExp route cannot be documented: ${layer.path}`);
      for (const m of layer.methods) {
        if (m === 'HEAD' && layer.methods.includes('GET')) continue; // added by the router for every GET
        out.add(`${m} ${toOpenApiPath(layer.path)}`);
      }
    }
  }
  return out;
}

function documented(document: any): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<any>(document.paths)) {
    for (const m of Object.keys(item)) {
      if (!(METHODS as readonly string[]).includes(m)) throw new Error(`unexpected key ${m} under ${path}`);
      out.add(`${m.toUpperCase()} ${path}`);
    }
  }
  return out;
}

const minus = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();

/** Paths served by middleware outside the router, and how to prove each is really served. */
const SERVED_OUTSIDE_ROUTER: Record<string, () => Promise<boolean>> = {
  'GET /images/{file}': async () => {
    const file = readdirSync(DEFAULT_IMAGES_DIR).find((f) => f.endsWith('.svg'))!;
    const res = await client.get(`/images/${file}`);
    return res.status === 200 && /^image\//.test(res.headers.get('content-type') ?? '');
  },
};

test('when the document is fetched, then it is OpenAPI 3.1 JSON with the version and the error schema', async (t) => {
  const res = await client.get('/api/openapi.json');
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.is(doc.openapi, '3.1.0');
  t.is(typeof doc.info.title, 'string');
  t.regex(doc.info.version, /^\d+\.\d+\.\d+/);
  t.deepEqual(doc.components.schemas.Error.required, ['error']);
  t.deepEqual(doc.components.schemas.Error.properties.error.required, ['code', 'message']);
  t.truthy(doc.components.securitySchemes.cookieAuth);
  t.is(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
});

test('when the router and the document are compared, then every routed method and path is documented and vice versa', async (t) => {
  const r = routed(app);
  const d = documented(doc);
  t.true(r.size >= 3, `only ${r.size} routes found: ${[...r].join(', ')}`);
  t.deepEqual(minus(r, d), [], 'routed but not documented');
  const onlyDocumented = minus(d, r);
  t.deepEqual(onlyDocumented, Object.keys(SERVED_OUTSIDE_ROUTER).sort(), 'documented but not routed');
  for (const op of onlyDocumented) t.true(await SERVED_OUTSIDE_ROUTER[op](), `${op} is documented but not served`);
});

test('when a route is missing from either side, then the comparison notices (the check itself works)', (t) => {
  const r = routed(app);
  const d = documented(doc);
  const some = [...r][0];
  const fewerDocs = new Set([...d].filter((x) => x !== some));
  t.deepEqual(minus(r, fewerDocs), [some]);
  const extraDoc = new Set([...d, 'GET /api/not-routed']);
  t.true(minus(extraDoc, r).includes('GET /api/not-routed'));
});

test('when routes are declared, then each operation carries its summary, tag, auth, parameters and responses', (t) => {
  const declared = apiRoutes({ db: database.db, config: loadConfig({ ...process.env, DATABASE_URL: database.url }), logger: createLogger('silent') });
  t.true(declared.length > 0);
  for (const r of declared) {
    const path = toOpenApiPath(r.path);
    const op = doc.paths[path]?.[r.method];
    const name = `${r.method.toUpperCase()} ${r.path}`;
    if (!op) {
      t.fail(`${name} is declared but not in the document`);
      continue;
    }
    t.is(op.summary, r.summary, name);
    t.deepEqual(op.tags, [r.tag], name);
    if (r.auth || r.permission) t.deepEqual(op.security, [{ cookieAuth: [] }, { bearerAuth: [] }], `${name} needs a signed-in user`);
    else t.deepEqual(op.security, [], `${name} is public: no scheme needed`);

    for (const p of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
      t.truthy(
        op.parameters?.find((x: any) => x.in === 'path' && x.name === p && x.required === true),
        `${name} documents its path parameter ${p}`,
      );
    }
    if (r.body) t.truthy(op.requestBody?.content?.['application/json']?.schema, `${name} documents its body`);
    else if (r.upload) t.truthy(op.requestBody?.content?.['multipart/form-data']?.schema?.properties?.[r.upload.field], `${name} documents its file`);
    else t.is(op.requestBody, undefined, name);
    if (r.query)
      t.true(
        op.parameters.some((x: any) => x.in === 'query'),
        `${name} documents its query`,
      );
    for (const status of Object.keys(r.responses)) t.truthy(op.responses[status], `${name} documents ${status}`);
    t.truthy(op.responses['500'], `${name} documents 500`);
  }
});

test('when the catalog listing is documented, then its query parameters come from the zod schema', (t) => {
  const op = doc.paths['/api/products']?.get;
  t.truthy(op);
  const params = Object.fromEntries(op.parameters.filter((p: any) => p.in === 'query').map((p: any) => [p.name, p]));
  for (const name of ['q', 'min_price', 'max_price', 'in_stock', 'sort', 'limit', 'offset']) t.truthy(params[name], `query parameter ${name}`);
  t.is(params.limit.schema.maximum, 100);
  t.is(params.limit.schema.minimum, 1);
  t.is(params.limit.schema.default, 20);
  t.false(params.limit.required);
  t.true(params.sort.schema.enum.includes('-price'));
  t.truthy(op.responses['200'].content['application/json'].schema.properties.items);
});

test('when a route takes a JSON body, then the request schema is the input side of its zod schema', (t) => {
  const signup = doc.paths['/api/auth/signup']?.post;
  t.truthy(signup, 'POST /api/auth/signup is documented');
  const schema = signup.requestBody.content['application/json'].schema;
  t.is(schema.type, 'object');
  t.deepEqual([...schema.required].sort(), ['email', 'password', 'username']);
  t.is(schema.properties.username.maxLength, 50);
  t.is(schema.$schema, undefined, 'no $schema inside an OpenAPI document');
  t.is(signup.responses['413'].$ref, '#/components/responses/Error413');
  t.is(signup.responses['415'].$ref, '#/components/responses/Error415');
});

test('when an error response is documented, then it uses the common error schema', (t) => {
  let errors = 0;
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      for (const [status, res] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400) continue;
        errors++;
        const schema = res.$ref ? resolve(doc, res.$ref).content['application/json'].schema : res.content?.['application/json']?.schema;
        t.deepEqual(schema, { $ref: '#/components/schemas/Error' }, `${method.toUpperCase()} ${path} ${status}`);
      }
    }
  }
  t.true(errors > 0);
});

function resolve(document: any, ref: string): any {
  if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node, key) => (node === undefined ? undefined : node[key]), document);
}

test('when the document refers to a component, then the component exists', (t) => {
  const refs: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') refs.push(v);
        else walk(v);
      }
    }
  };
  walk(doc);
  t.true(refs.length > 0);
  for (const ref of new Set(refs)) t.not(resolve(doc, ref), undefined, ref);
});

test('when every operation is listed, then operation ids are unique', (t) => {
  const ids = Object.values<any>(doc.paths).flatMap((item) => Object.values<any>(item).map((op) => op.operationId));
  t.is(new Set(ids).size, ids.length);
});
