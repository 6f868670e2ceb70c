/**
 * Routes are declared once, as data: method, path, the zod schemas of their input and output,
 * and a handler. The router is built from these declarations and so is the OpenAPI document,
 * so the two cannot drift apart.
 */
import Router from '@koa/router';
import type { z } from 'zod';
import type { Permission } from '../auth/permissions.js';
import { notFound } from '../errors.js';
import { MAX_DB_ID } from '../schemas.js';
import { parseInput } from '../validation.js';
import type { AppContext, AppMiddleware, AppState } from './context.js';
import { uploadBody, type UploadedFile, type UploadSpec } from './middleware/upload.js';
import { type RegisteredRoute, staticRoutes } from './static-routes.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** e.g. 'application/json' (default), 'image/svg+xml' */
  contentType?: string;
}

export interface RouteSpec<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  method: Method;
  /** @koa/router path, e.g. `/api/products/:id` */
  path: string;
  summary: string;
  tag: string;
  /** Signed-in users only (the handler may still check more). */
  auth?: boolean;
  /** How `auth` finds the user, instead of requireUser (the adapter renews sessions, docs/legacy.md). */
  authenticate?: AppMiddleware;
  /**
   * Signed-in users whose role, read from the database at each request, holds this permission
   * (auth/permissions.ts): 401 anonymous or disabled, 403 FORBIDDEN without it. Implies `auth`.
   */
  permission?: Permission;
  body?: B;
  query?: Q;
  /**
   * The handler validates `ctx.query` against `query` itself (which still documents it): the
   * catalog listing, which validates each query string once (query-memo.ts).
   */
  validatesQuery?: true;
  /**
   * A `multipart/form-data` body with one file instead of a JSON body (middleware/upload.ts):
   * read after the auth and permission checks, handed to the handler as `input.file`.
   */
  upload?: UploadSpec;
  /** False for a route no browser session calls (the Stripe webhook): no origin check, no 403. */
  cookieSession?: false;
  /** Extra request headers worth documenting, e.g. Idempotency-Key. */
  headers?: { name: string; description: string; required?: boolean }[];
  responses: Record<number, ResponseSpec>;
  /** Runs before validation, e.g. rate limits. */
  before?: AppMiddleware[];
  handler: (ctx: AppContext, input: { body: z.output<B>; query: z.output<Q>; file: UploadedFile }) => Promise<void> | void;
}

/** Declares a route with its input types inferred from its schemas. */
export function route<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType>(spec: RouteSpec<B, Q>): RouteSpec {
  return spec as unknown as RouteSpec;
}

/**
 * The router of `routes`, and the middleware that serves them: the routes without path parameters
 * from a map (static-routes.ts), the others through the router.
 */
export function buildRouter(
  routes: RouteSpec[],
  requireUser: AppMiddleware,
  requirePermission?: (permission: Permission) => AppMiddleware,
): { router: Router<AppState>; routes: AppMiddleware } {
  const router = new Router<AppState>();
  const registered: RegisteredRoute[] = [];
  for (const r of routes) {
    const chain: AppMiddleware[] = [...(r.before ?? [])];
    if (r.auth || r.permission) chain.push(r.authenticate ?? requireUser);
    if (r.permission) {
      if (!requirePermission) throw new Error(`${r.method.toUpperCase()} ${r.path} needs a permission check`);
      chain.push(requirePermission(r.permission));
    }
    if (r.upload) chain.push(uploadBody(r.upload));
    const handler: AppMiddleware = async (ctx) => {
      const body = r.body ? parseInput(r.body, ctx.request.body ?? {}, 'body') : undefined;
      const query = r.query && !r.validatesQuery ? parseInput(r.query, ctx.query, 'query') : undefined;
      await r.handler(ctx as AppContext, { body, query, file: ctx.state.upload } as never);
    };
    chain.push(handler);
    (router[r.method] as (path: string, ...mw: AppMiddleware[]) => unknown).call(router, r.path, ...chain);
    registered.push({ method: r.method.toUpperCase(), path: r.path, chain });
  }
  const viaRouter = router.routes() as unknown as AppMiddleware;
  const byPath = staticRoutes(router, registered);
  const serve: AppMiddleware = (ctx, next) => byPath(ctx, () => viaRouter(ctx, next));
  // As on the router's own middleware: what is mounted can be found (test/api/openapi.test.ts).
  return { router, routes: Object.assign(serve, { router }) };
}

/**
 * True for a request to a route that takes an upload (RouteSpec.upload): the JSON body parser
 * leaves its body for the route (middleware/body.ts). Matched by the router's own path rules.
 */
export function uploadRouteMatcher(routes: RouteSpec[]): (path: string, method: string) => boolean {
  const router = new Router<AppState>();
  for (const r of routes) if (r.upload) (router[r.method] as (path: string, mw: AppMiddleware) => unknown).call(router, r.path, () => {});
  return (path, method) => router.match(path, method).route;
}

/**
 * A path id: a positive integer written plainly ("7", not "07", "7.0", "1e1" or "0x7"). Anything
 * else names nothing: NOT_FOUND "<what> not found." (docs/api.md).
 */
export function pathId(raw: string | undefined, what: string): number {
  const id = raw && /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : MAX_DB_ID + 1;
  if (id > MAX_DB_ID) throw notFound(what);
  return id;
}

/**
 * If-None-Match against an ETag (RFC 9110 §13.1.2: weak comparison, `*`, lists). An empty header
 * matches nothing.
 */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}
