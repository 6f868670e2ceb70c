import { verifyAccessToken } from '../../auth/access-token.js';
import { isForeignKeyViolation } from '../../db/errors.js';
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
 * Requires a valid access token; sets ctx.state.user.
 *
 * A token outlives its user by up to its 15 minutes: a write made for a removed user then fails
 * on a foreign key to users, which is answered 401 UNAUTHENTICATED. Only such a failure pays for
 * the lookup (is the user still there?), so a signed-in request stays one signature check, and a
 * foreign-key failure about anything else is left as it was.
 */
export function requireUser(secret: string, db: Db): AppMiddleware {
  return async (ctx, next) => {
    const token = accessTokenOf(ctx);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
    const user = verifyAccessToken(token, secret);
    ctx.state.user = user;
    try {
      await next();
    } catch (err) {
      if (isForeignKeyViolation(err) && !(await usersRepository.findById(db, user.id))) {
        throw new AppError('UNAUTHENTICATED', 'This account no longer exists. Sign in to continue.', undefined, { cause: err });
      }
      throw err;
    }
  };
}
