/**
 * Builds the Koa app without listening: tests start it on a random port, server.ts in production.
 */
import Koa from 'koa';
import { SessionRevocations } from '../auth/session-revocations.js';
import type { AppDeps, AppState } from './context.js';
import { requirePermission, requireUser } from './middleware/auth.js';
import { jsonBody } from './middleware/body.js';
import { errorHandler } from './middleware/error-handler.js';
import { wakeOutboxAfter } from './middleware/outbox-wake.js';
import { requestContext } from './middleware/request-context.js';
import { corsFor, securityHeaders } from './middleware/security.js';
import { buildRouter, type RouteSpec, uploadRouteMatcher } from './route.js';
import { healthRoutes } from './routes/health.routes.js';
import { authRoutes } from './routes/auth.routes.js';
import { createRateLimits } from './middleware/rate-limit.js';
import { openapiRoutes } from './routes/openapi.routes.js';
import { docsRoutes } from './routes/docs.routes.js';
import { cartRoutes } from './routes/cart.routes.js';
import { ordersRoutes } from './routes/orders.routes.js';
import { checkoutRoutes } from './routes/checkout.routes.js';
import { STRIPE_WEBHOOK_PATH, webhookRoutes } from './routes/webhooks.routes.js';
import { productsRoutes } from './routes/products.routes.js';
import { adminRoutes } from './routes/admin.routes.js';
import { images } from './middleware/images.js';
import { sameOriginCookies } from './middleware/origin.js';
import { legacyImagesPath, legacyRoutes } from './legacy/legacy.routes.js';
import { imagesPath } from './routes/openapi.routes.js';

/** Every API route, in one list: the router and the OpenAPI document are both built from it. */
export function apiRoutes(deps: AppDeps): RouteSpec[] {
  return [
    ...healthRoutes(deps),
    ...authRoutes(deps),
    ...productsRoutes(deps),
    ...cartRoutes(deps),
    ...ordersRoutes(deps),
    ...checkoutRoutes(deps),
    ...webhookRoutes(deps),
    ...adminRoutes(deps),
    // The old backend's API under LEGACY_API_PREFIX (docs/legacy.md); off when unset.
    ...(deps.config.legacyApiPrefix ? legacyRoutes(deps, deps.config.legacyApiPrefix) : []),
  ];
}

export function createApp(deps: AppDeps): Koa<AppState> {
  const app = new Koa<AppState>();
  app.proxy = deps.config.trustProxy;
  // Behind one trusted proxy the client is the address it appended, the last X-Forwarded-For
  // entry; anything to its left was written by the client and must not pick a rate-limit key.
  app.maxIpsCount = 1;
  deps = {
    ...deps,
    rateLimits: deps.rateLimits ?? createRateLimits(deps.config, { logger: deps.logger }),
    sessionRevocations: deps.sessionRevocations ?? new SessionRevocations(deps.db),
  };
  app.silent = true;

  const routes = apiRoutes(deps);
  const legacyPrefix = deps.config.legacyApiPrefix;
  routes.push(...openapiRoutes(() => routes, legacyPrefix ? [imagesPath, legacyImagesPath(legacyPrefix)] : [imagesPath]), ...docsRoutes());
  const { router, routes: serveRoutes } = buildRouter(routes, requireUser(deps.config.accessTokenSecret, deps.sessionRevocations!), requirePermission(deps.db));

  app.use(requestContext(deps.logger));
  app.use(securityHeaders());
  app.use(corsFor(deps.config.corsOrigins));
  app.use(errorHandler(deps.logger));
  if (deps.wakeOutbox) app.use(wakeOutboxAfter(deps.wakeOutbox, legacyPrefix));
  app.use(images(deps.config.imagesDir));
  if (legacyPrefix) app.use(images(deps.config.imagesDir, `${legacyPrefix}/images/`));
  app.use(sameOriginCookies(deps.config.corsOrigins, [STRIPE_WEBHOOK_PATH]));
  app.use(jsonBody([STRIPE_WEBHOOK_PATH], uploadRouteMatcher(routes)));
  app.use(serveRoutes);
  app.use(router.allowedMethods());
  return app;
}
