/**
 * Security headers (helmet) and CORS. The store answers JSON and serves product images; a shop
 * frontend on another origin must be able to call it with cookies (CORS_ORIGINS only) and to
 * show its images in <img> tags (so the resource policy is cross-origin, not helmet's same-origin).
 */
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import type { AppMiddleware } from '../context.js';

/** Response headers a browser script on an allowed origin may read. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'ETag'];

export function securityHeaders(): AppMiddleware {
  return helmet({
    // Nothing the API sends is meant to run as a page: no scripts, no frames, no forms. Inline
    // styles stay allowed so an SVG image opened on its own still renders as drawn.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    // Product images are embedded by the shop frontend, which may live on another origin.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  }) as unknown as AppMiddleware;
}

/**
 * CORS with credentials, for the configured origins only. Any other origin gets no CORS headers
 * at all, so the browser keeps the response from its script.
 */
export function corsFor(origins: string[]): AppMiddleware {
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      return allowed.has(origin) ? origin : '';
    },
    credentials: true,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'X-Request-Id', 'If-None-Match'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  }) as unknown as AppMiddleware;
}
