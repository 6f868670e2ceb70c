/**
 * Routes without path parameters are served from a map (src/http/static-routes.ts). What it must
 * never do: run a chain the router would not have run for the request. Each request below gets
 * the answer @koa/router alone gives (the same app without the map).
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import Koa from 'koa';
import test from 'ava';
import type { AppMiddleware, AppState } from '../../src/http/context.js';
import { buildRouter, type RouteSpec } from '../../src/http/route.js';

const answer =
  (name: string): RouteSpec['handler'] =>
  (ctx) => {
    ctx.body = { route: name, params: ctx.params };
  };

const spec = (method: RouteSpec['method'], path: string, name: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
  method,
  path,
  summary: name,
  tag: 'test',
  responses: { 200: { description: 'ok' } },
  handler: answer(name),
  ...extra,
});

const refuse: AppMiddleware = (ctx) => {
  ctx.status = 401;
  ctx.body = { route: 'requireUser' };
};

const ROUTES: RouteSpec[] = [
  spec('get', '/things', 'list'),
  spec('post', '/things', 'create'),
  // A parameter route first that also matches a static path declared after it: the router runs
  // the first one, so the map must not take `/items/mine`.
  spec('get', '/items/:id', 'item'),
  spec('get', '/items/mine', 'mine'),
  spec('get', '/private', 'private', { auth: true }),
  spec('get', '/limited', 'limited', {
    before: [
      (ctx, next) => {
        ctx.set('X-Before', 'ran');
        return next();
      },
    ],
  }),
];

async function serve(withMap: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa<AppState>();
  const { router, routes } = buildRouter(ROUTES, refuse);
  app.use(withMap ? routes : (router.routes() as unknown as AppMiddleware));
  app.use(router.allowedMethods() as unknown as AppMiddleware);
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const REQUESTS: Array<[string, string]> = [
  ['GET', '/things'],
  ['HEAD', '/things'],
  ['POST', '/things'],
  ['PUT', '/things'],
  ['GET', '/things/'],
  ['GET', '/THINGS'],
  ['GET', '/thing%73'],
  ['GET', '/items/7'],
  ['GET', '/items/mine'],
  ['GET', '/private'],
  ['GET', '/limited'],
  ['GET', '/nothing'],
];

test('every request gets the answer the router alone gives', async (t) => {
  const [mapped, plain] = await Promise.all([serve(true), serve(false)]);
  try {
    for (const [method, path] of REQUESTS) {
      const [a, b] = await Promise.all([fetch(mapped.url + path, { method }), fetch(plain.url + path, { method })]);
      const what = `${method} ${path}`;
      t.is(a.status, b.status, what);
      t.is(await a.text(), await b.text(), what);
      for (const h of ['allow', 'x-before', 'content-type', 'content-length']) t.is(a.headers.get(h), b.headers.get(h), `${what}: ${h}`);
    }
    // The cases the map exists for, and the one it must leave to the router.
    t.deepEqual(await (await fetch(`${mapped.url}/things`)).json(), { route: 'list', params: {} });
    t.is((await (await fetch(`${mapped.url}/items/mine`)).json()).route, 'item');
    t.is((await (await fetch(`${mapped.url}/private`)).json()).route, 'requireUser');
  } finally {
    await Promise.all([mapped.close(), plain.close()]);
  }
});
