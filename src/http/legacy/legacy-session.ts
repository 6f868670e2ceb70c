/**
 * How the adapter (docs/legacy.md) answers errors and finds the signed-in user.
 *
 * Errors: the old server answered `text/plain` or `{message}` with its own status codes; the
 * domain's errors (and validation, rate limits, a missing session) are turned into those here,
 * around the whole route (validation and rate limits included). Anything unexpected still goes
 * to the app's error handler (a logged 500 with the request id).
 *
 * Sessions: the old middleware renewed an expired access token from the refresh cookie on any
 * authenticated request. The adapter does the same through auth.service.ts's `refresh`, so the
 * rotation rules (one successor per token, the grace window for requests fired at once, reuse
 * revoking the family) are exactly those of POST /api/auth/refresh. Its refresh cookie's path
 * is the adapter's prefix, so the browser sends it on every adapter request.
 */
import { verifyAccessToken } from '../../auth/access-token.js';
import type { SessionRevocations } from '../../auth/session-revocations.js';
import { refresh } from '../../auth/auth.service.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/connection.js';
import { AppError, isAppError } from '../../errors.js';
import type { AppContext, AppMiddleware } from '../context.js';
import { ACCESS_COOKIE } from '../middleware/auth.js';
import { clearAuthCookies, refreshTokenOf, setAuthCookies } from '../middleware/cookies.js';
import { toAppError } from '../middleware/error-handler.js';
import { STATUS_OF } from '../status.js';

export type LegacyStyle = 'text' | 'message';

/** The old statuses where they differ from watchstore's (docs/legacy.md). */
const LEGACY_STATUS: Partial<Record<string, number>> = {
  // Sign-up with a taken username was a 400 {message}.
  USERNAME_TAKEN: 400,
  EMAIL_TAKEN: 400,
  // The cart's "already at the stock" and "already at 1" were 400s.
  OUT_OF_STOCK: 400,
  CONFLICT: 400,
};

/** Sets the old-style error answer on ctx. */
export function sendLegacyError(ctx: AppContext, style: LegacyStyle, status: number, message: string, details?: unknown[]): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  if (style === 'text') {
    ctx.type = 'text/plain';
    ctx.body = status === 401 ? 'Unauthorized' : message;
    return;
  }
  ctx.type = 'application/json';
  if (details && status === 400) {
    ctx.body = {
      errors: details.map((d) => {
        const { path, message: m } = d as { path?: string; message?: string };
        return { field: path ?? 'body', message: m ?? 'is invalid' };
      }),
    };
  } else ctx.body = { message };
}

/** Runs the rest of the route (rate limits, validation, handler), answering its errors the old way. */
export function legacyErrors(style: LegacyStyle): AppMiddleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const e = toAppError(err);
      if (!e) throw err;
      const status = LEGACY_STATUS[e.code] ?? STATUS_OF[e.code];
      const details = isAppError(e) && e.code === 'VALIDATION_FAILED' ? e.details : undefined;
      sendLegacyError(ctx, style, status, e.message, details);
    }
  };
}

/**
 * The signed-in user from the access cookie (only the cookie: old frontends send a static key as
 * `Authorization: Bearer`), else a session renewed from the refresh cookie, new cookies set.
 * UNAUTHENTICATED when neither works; a dead refresh cookie is cleared.
 */
export function legacyUser(db: Db, config: Config, cookiePath: string, revocations: SessionRevocations): AppMiddleware {
  return async (ctx, next) => {
    const access = ctx.cookies.get(ACCESS_COOKIE);
    if (access) {
      try {
        const claims = verifyAccessToken(access, config.accessTokenSecret);
        await revocations.check(claims);
        ctx.state.user = claims;
      } catch (err) {
        // expired, forged or revoked: try the refresh cookie below (a database error is not that)
        if (!isAppError(err) || err.kind !== 'unauthenticated') throw err;
      }
    }
    if (!ctx.state.user) {
      const token = refreshTokenOf(ctx);
      if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
      try {
        const session = await refresh(db, token, config);
        setAuthCookies(ctx, config, session, cookiePath);
        ctx.state.user = { id: session.user.id, role: session.user.role };
      } catch (err) {
        if (isAppError(err) && err.kind === 'unauthenticated') clearAuthCookies(ctx, config, cookiePath);
        throw err;
      }
    }
    await next();
  };
}
