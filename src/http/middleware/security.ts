/**
 * Security headers and CORS. The store answers JSON and serves product images; a shop frontend
 * on another origin must be able to call it with cookies (CORS_ORIGINS only) and to show its
 * images in <img> tags (so the resource policy is cross-origin, not the same-origin default).
 */
import cors from '@koa/cors';
import type { AppMiddleware } from '../context.js';

/** Response headers a browser script on an allowed origin may read. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'ETag'];

/**
 * The headers every answer carries: helmet 8's set, with a content security policy for an API
 * (nothing it sends is meant to run as a page: no scripts, no frames, no forms; inline styles stay
 * allowed so an SVG image opened on its own still renders as drawn), product images embeddable
 * from another origin, no referrer, no framing. None depends on the request, so they are written
 * out once here rather than built by helmet's twelve middlewares on every request
 * (bench/README.md, "Catalog hit path").
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Security-Policy', "default-src 'none';style-src 'unsafe-inline';img-src 'self' data:;base-uri 'none';form-action 'none';frame-ancestors 'none'"],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'cross-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'DENY'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

export function securityHeaders(): AppMiddleware {
  return (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    return next();
  };
}

/**
 * CORS with credentials, for the configured origins only. Any other origin gets no CORS headers
 * at all, so the browser keeps the response from its script; every answer says `Vary: Origin`.
 */
export function corsFor(origins: string[]): AppMiddleware {
  const allowed = new Set(origins);
  const withCors = cors({
    origin: (ctx) => ctx.get('Origin'),
    credentials: true,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'X-Request-Id', 'If-None-Match'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  }) as unknown as AppMiddleware;
  return (ctx, next) => {
    // No Origin, or one not allowed: what @koa/cors does for an origin it refuses, without its
    // awaits (most requests: same-origin pages, curl, servers).
    if (!allowed.has(ctx.get('Origin'))) {
      ctx.vary('Origin');
      return next();
    }
    return withCors(ctx, next);
  };
}
