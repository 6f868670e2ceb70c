/**
 * Defence in depth for cookie sessions (docs/api.md, Auth): a state-changing request (anything
 * but GET, HEAD and OPTIONS) that carries the auth cookies and no `Authorization: Bearer` header
 * must come from the store's own origin or one of CORS_ORIGINS, as its `Origin` header (else its
 * `Sec-Fetch-Site`) says; otherwise 403 FORBIDDEN before the body is read. SameSite=Lax already
 * keeps the cookies off most cross-site requests; this also covers same-site subdomains and older
 * browsers.
 *
 * Requests with neither header (curl, server-to-server) pass, Bearer requests pass (a browser
 * never adds that header by itself), and the paths in `exempt` (the Stripe webhook) pass.
 */
import { AppError } from '../../errors.js';
import type { AppContext, AppMiddleware } from '../context.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './auth.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const forbidden = () =>
  new AppError('FORBIDDEN', 'This request came from another site: cookie-authenticated changes are accepted only from the store itself or CORS_ORIGINS.');

function usesCookies(ctx: AppContext): boolean {
  if (/^Bearer\s+\S+$/i.test(ctx.get('Authorization'))) return false;
  return Boolean(ctx.cookies.get(ACCESS_COOKIE) || ctx.cookies.get(REFRESH_COOKIE));
}

/** True when `origin` is this server's own (same host as the request was sent to). */
function isOwnOrigin(ctx: AppContext, origin: string): boolean {
  try {
    // The host is compared, not the scheme: behind a TLS-terminating proxy the server itself
    // may believe it is on http while the browser is on https.
    return new URL(origin).host.toLowerCase() === ctx.host.toLowerCase();
  } catch {
    return false; // `null` (sandboxed frames, file: pages) or garbage
  }
}

export function sameOriginCookies(corsOrigins: string[], exempt: string[] = []): AppMiddleware {
  const allowed = new Set(corsOrigins);
  return (ctx, next) => {
    if (SAFE_METHODS.has(ctx.method) || exempt.includes(ctx.path) || !usesCookies(ctx)) return next();
    const origin = ctx.get('Origin');
    if (origin) {
      if (!allowed.has(origin) && !isOwnOrigin(ctx, origin)) throw forbidden();
      return next();
    }
    // No Origin (older browsers on some requests): Fetch Metadata, where sent, tells the site.
    const site = ctx.get('Sec-Fetch-Site').toLowerCase();
    if (site && site !== 'same-origin' && site !== 'none') throw forbidden();
    return next();
  };
}
