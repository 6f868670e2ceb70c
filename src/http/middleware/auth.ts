import { verifyAccessToken } from '../../auth/access-token.js';
import { can, type Permission } from '../../auth/permissions.js';
import type { SessionRevocations } from '../../auth/session-revocations.js';
import type { Db } from '../../db/connection.js';
import { AppError } from '../../errors.js';
import { usersRepository } from '../../users/users.repository.js';
import type { AppMiddleware } from '../context.js';

export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';

/** The access token from `Authorization: Bearer …` or the `access_token` cookie. */
export function accessTokenOf(ctx: Parameters<AppMiddleware>[0]): string | undefined {
  const header = ctx.get('Authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (m) return m[1];
  return ctx.cookies.get(ACCESS_COOKIE) || undefined;
}

/**
 * Requires a valid access token whose session was not revoked since it was issued (a disabled
 * account, a password reset: auth/session-revocations.ts, one shared read of the auth revision);
 * sets ctx.state.user. No lookup of the user: a deleted user's token still passes, and the
 * services whose writes point at the user answer that case themselves (UNAUTHENTICATED, e.g.
 * cart.service.ts, orders.service.ts).
 */
export function requireUser(secret: string, revocations: SessionRevocations): AppMiddleware {
  return async (ctx, next) => {
    const token = accessTokenOf(ctx);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
    const user = verifyAccessToken(token, secret);
    await revocations.check(user);
    ctx.state.user = user;
    await next();
  };
}

/**
 * After requireUser: the caller's role and state as stored now, so a demotion or a disabled
 * account takes effect at the next request, not at the access token's expiry (docs/api.md,
 * Admin API). A removed or disabled account is UNAUTHENTICATED; a role without the permission
 * FORBIDDEN. One primary-key read per admin request.
 */
export function requirePermission(db: Db): (permission: Permission) => AppMiddleware {
  return (permission) => async (ctx, next) => {
    const row = await usersRepository.findById(db, ctx.state.user!.id);
    if (!row || row.disabled_at) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
    ctx.state.user = { ...ctx.state.user!, role: row.role };
    if (!can(row.role, permission)) throw new AppError('FORBIDDEN', `This needs the ${permission} permission, which your role (${row.role}) does not have.`);
    await next();
  };
}
