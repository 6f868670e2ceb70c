import type { AppMiddleware } from '../context.js';

/**
 * The requests that may queue an outbox message (docs/data.md, "outbox"): orders and checkout,
 * Stripe's webhooks, the admin's moves, password resets and e-mail changes. Carts and sign-ins
 * never do, and waking the worker for them would only cost a claim per request.
 */
const MAY_QUEUE = /^\/api\/(orders|checkout|webhooks|admin)(\/|$)|^\/api\/auth\/(password-reset|me)(\/|$)/;

/** After such a request succeeded, wakes this process's outbox worker (AppDeps.wakeOutbox). */
export function wakeOutboxAfter(wake: () => void): AppMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.status < 400 && MAY_QUEUE.test(ctx.path)) wake();
  };
}
