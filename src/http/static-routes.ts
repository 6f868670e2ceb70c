/**
 * The routes without path parameters (`/api/products`, `/api/cart`, …), found by one map lookup
 * of the request's method and path instead of by @koa/router, which tests every route's pattern
 * and composes the matched chain anew on each request (a third of a catalog listing's time,
 * bench/README.md "Catalog hit path").
 *
 * The invariant: a request is dispatched from the map only when @koa/router would have run
 * exactly the same chain for it. A route goes into the map only if the router's own `match`
 * for its method and path finds that route and nothing else; a request is looked up by its exact
 * method and path, so any other spelling the router accepts (a trailing slash, other letter case,
 * an encoded character), a path with parameters, an unknown path or another method falls through
 * to the router as before.
 */
import type Router from '@koa/router';
import compose from 'koa-compose';
import type { AppMiddleware, AppState } from './context.js';

/** A route as registered on the router: its method (upper case), path and middleware chain. */
export interface RegisteredRoute {
  method: string;
  path: string;
  chain: AppMiddleware[];
}

const NO_PARAMS = Object.freeze({});

type Dispatch = ReturnType<typeof compose<Parameters<AppMiddleware>[0]>>;

/** Runs the route registered for exactly this method and path, else the next middleware (the router). */
export function staticRoutes(router: Router<AppState>, registered: RegisteredRoute[]): AppMiddleware {
  const byMethod = new Map<string, Map<string, Dispatch>>();
  for (const route of registered) {
    // @koa/router answers HEAD with a GET route.
    for (const method of route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]) {
      if (!sameChainOnly(router, method, route)) continue;
      const paths = byMethod.get(method) ?? new Map<string, Dispatch>();
      paths.set(route.path, compose(route.chain));
      byMethod.set(method, paths);
    }
  }
  return (ctx, next) => {
    const run = byMethod.get(ctx.method)?.get(ctx.path);
    if (!run) return next();
    (ctx as { params?: object }).params = NO_PARAMS; // as the router leaves it for a path without parameters
    return run(ctx, next);
  };
}

/** True when the router, asked for `method` and the route's own path, would run that route's chain and nothing else. */
function sameChainOnly(router: Router<AppState>, method: string, route: RegisteredRoute): boolean {
  const matched = router.match(route.path, method).pathAndMethod;
  if (matched.length !== 1) return false;
  const stack = matched[0].stack as unknown[];
  return stack.length === route.chain.length && stack.every((step, i) => step === route.chain[i]);
}
