import type { AppMiddleware } from '../context.js';

/**
 * The requests that may queue an outbox message (docs/data.md, "outbox"): orders and checkout,
 * Stripe's webhooks, the admin's moves, password resets and e-mail changes. Carts and sign-ins
 * never do, and waking the worker for them would only cost a claim per request.
 */
const MAY_QUEUE = /^\/api\/(orders|checkout|webhooks|admin)(\/|$)|^\/api\/auth\/(password-reset|me)(\/|$)/;

/** The old frontends' checkout (docs/legacy.md) places an order too. */
const LEGACY_MAY_QUEUE = /^\/api\/checkout\/?$/;

/**
 * After such a request succeeded, wakes this process's outbox worker (AppDeps.wakeOutbox); with
 * LEGACY_API_PREFIX, the adapter's checkout under that prefix too.
 */
export function wakeOutboxAfter(wake: () => void, legacyPrefix?: string): AppMiddleware {
  const mayQueue = (path: string) =>
    MAY_QUEUE.test(path) || (legacyPrefix !== undefined && path.startsWith(`${legacyPrefix}/`) && LEGACY_MAY_QUEUE.test(path.slice(legacyPrefix.length)));
  return (ctx, next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return next();
    return next().then(() => {
      if (ctx.status < 400 && mayQueue(ctx.path)) wake();
    });
  };
}
