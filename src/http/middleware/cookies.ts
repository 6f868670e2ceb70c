/**
 * The two auth cookies: how they are set, read and cleared.
 *
 * `cookies` (Koa's ctx.cookies) refuses to set a Secure cookie unless it believes the request
 * came over TLS (`ctx.request.secure`: a TLS socket, or X-Forwarded-Proto: https when app.proxy
 * is on) and throws "Cannot send secure cookie over unencrypted connection" otherwise. Behind a
 * TLS-terminating proxy that does not send X-Forwarded-Proto (or with TRUST_PROXY off) that would
 * turn every sign-in into a 500. COOKIE_SECURE=true is the operator saying browsers reach us over
 * https, so we tell the cookie jar so (`ctx.cookies.secure = true`) instead of letting it guess.
 */
import type { Config } from '../../config.js';
import type { AppContext } from '../context.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './auth.js';

export const ACCESS_COOKIE_PATH = '/';
export const REFRESH_COOKIE_PATH = '/api/auth';

type CookieConfig = Pick<Config, 'cookieSecure'>;

function base(ctx: AppContext, config: CookieConfig) {
  if (config.cookieSecure) ctx.cookies.secure = true;
  return { httpOnly: true, sameSite: 'lax' as const, secure: config.cookieSecure, overwrite: true };
}

/**
 * `refreshPath`: where the browser sends the refresh cookie back; the compatibility adapter
 * (src/http/legacy/) uses its own prefix, since it renews sessions on any of its paths.
 */
export function setAuthCookies(
  ctx: AppContext,
  config: CookieConfig,
  tokens: { accessToken: string; accessExpiresAt: Date; refreshToken: string; refreshExpiresAt: Date },
  refreshPath = REFRESH_COOKIE_PATH,
): void {
  const opts = base(ctx, config);
  ctx.cookies.set(ACCESS_COOKIE, tokens.accessToken, { ...opts, path: ACCESS_COOKIE_PATH, expires: tokens.accessExpiresAt });
  ctx.cookies.set(REFRESH_COOKIE, tokens.refreshToken, { ...opts, path: refreshPath, expires: tokens.refreshExpiresAt });
}

/** Expires both cookies, with the same paths they were set with (or the browser keeps them). */
export function clearAuthCookies(ctx: AppContext, config: CookieConfig, refreshPath = REFRESH_COOKIE_PATH): void {
  const opts = base(ctx, config);
  ctx.cookies.set(ACCESS_COOKIE, null, { ...opts, path: ACCESS_COOKIE_PATH });
  ctx.cookies.set(REFRESH_COOKIE, null, { ...opts, path: refreshPath });
}

export function refreshTokenOf(ctx: AppContext): string | undefined {
  return ctx.cookies.get(REFRESH_COOKIE) || undefined;
}
