import {
  mePatchSchema,
  messageResponseSchema,
  passwordResetConfirmSchema,
  passwordResetRequestSchema,
  signinSchema,
  signupSchema,
  userResponseSchema,
} from '../../auth/auth.schemas.js';
import { confirmPasswordReset, requestPasswordReset } from '../../auth/password-reset.service.js';
import { setEmail } from '../../users/users.service.js';
import { currentUser, logout, refresh, signin, signup, type Session } from '../../auth/auth.service.js';
import { sessionIdOf } from '../../auth/session-token.js';
import { isAppError } from '../../errors.js';
import type { AppContext, AppDeps } from '../context.js';
import { accessTokenOf } from '../middleware/auth.js';
import { clearAuthCookies, refreshTokenOf, setAuthCookies } from '../middleware/cookies.js';
import { createRateLimits } from '../middleware/rate-limit.js';
import { route, type RouteSpec } from '../route.js';

const TAG = 'Auth';
const RATE_LIMITED = { description: 'Too many attempts from this address (RATE_LIMITED), with Retry-After' };

/** The one answer to every reset request, whatever the login names (docs/api.md, Password reset). */
const RESET_REQUESTED = {
  message: 'If that login belongs to an account with an e-mail address, a link to reset its password is on its way.',
} as const;

export function authRoutes(deps: AppDeps): RouteSpec[] {
  const { db, config } = deps;
  // createApp hands in the app's limits; without them (e.g. routes listed for the OpenAPI
  // document) in-memory ones stand in, so a route is never left unlimited and no connection opens.
  const limits = deps.rateLimits ?? createRateLimits({ ...config, redisUrl: undefined });

  const sendSession = (ctx: AppContext, status: number, session: Session) => {
    setAuthCookies(ctx, config, session);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = status;
    ctx.body = { user: session.user };
  };

  const logoutRoute = (path: string, summary: string) =>
    route({
      method: 'post',
      path,
      summary,
      tag: TAG,
      responses: { 204: { description: 'Signed out; both cookies cleared (also when already signed out)' } },
      async handler(ctx) {
        // An expired access token still names its session (a bad one names none): sign-out
        // after 15 idle minutes, without the refresh cookie, must still revoke it.
        const access = accessTokenOf(ctx);
        const sessionId = access ? sessionIdOf(access, config.accessTokenSecret) : undefined;
        await logout(db, { refreshToken: refreshTokenOf(ctx), sessionId });
        clearAuthCookies(ctx, config);
        ctx.status = 204;
      },
    });

  return [
    route({
      method: 'post',
      path: '/api/auth/signup',
      summary: 'Create a customer account and sign in',
      tag: TAG,
      body: signupSchema,
      before: limits.signup,
      responses: {
        201: { description: 'The new user; access_token and refresh_token cookies are set', schema: userResponseSchema },
        400: { description: 'Invalid username, e-mail or password (VALIDATION_FAILED, with details)' },
        409: { description: 'USERNAME_TAKEN or EMAIL_TAKEN' },
        429: RATE_LIMITED,
      },
      async handler(ctx, { body }) {
        sendSession(ctx, 201, await signup(db, body, config));
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/signin',
      summary: 'Sign in with a username or e-mail and a password',
      tag: TAG,
      body: signinSchema,
      before: limits.signin,
      responses: {
        200: { description: 'The user; access_token and refresh_token cookies are set', schema: userResponseSchema },
        400: { description: 'No login or password (VALIDATION_FAILED)' },
        401: { description: 'INVALID_CREDENTIALS, the same for an unknown user and a wrong password' },
        403: { description: 'FORBIDDEN: the password is right but the account is disabled' },
        429: RATE_LIMITED,
      },
      async handler(ctx, { body }) {
        sendSession(ctx, 200, await signin(db, body, config));
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/refresh',
      summary: 'Exchange the refresh_token cookie for a new token pair (rotation)',
      tag: TAG,
      before: limits.refresh,
      responses: {
        200: { description: 'The user as stored now; both cookies are replaced', schema: userResponseSchema },
        401: { description: 'UNAUTHENTICATED (missing, unknown or expired token) or TOKEN_REUSED (a revoked token: its whole session is revoked)' },
        429: RATE_LIMITED,
      },
      async handler(ctx) {
        let session: Session;
        try {
          session = await refresh(db, refreshTokenOf(ctx), config);
        } catch (err) {
          // A dead session: tell the browser to stop sending its cookies.
          if (isAppError(err) && err.kind === 'unauthenticated') clearAuthCookies(ctx, config);
          throw err;
        }
        sendSession(ctx, 200, session);
      },
    }),
    logoutRoute('/api/auth/logout', 'Sign out: revoke the refresh token and clear the cookies'),
    logoutRoute('/api/logout', 'Sign out (the original path); same as POST /api/auth/logout'),
    route({
      method: 'post',
      path: '/api/auth/password-reset',
      summary: 'Ask for a password-reset e-mail (the answer never says whether the login exists)',
      tag: TAG,
      body: passwordResetRequestSchema,
      before: limits.passwordReset,
      responses: {
        202: {
          description: 'Always the same, for a known login, an unknown one or an account without e-mail; a known account gets the e-mail',
          schema: messageResponseSchema,
        },
        400: { description: 'No login (VALIDATION_FAILED)' },
        429: RATE_LIMITED,
      },
      async handler(ctx, { body }) {
        await requestPasswordReset(db, body.login, config);
        ctx.set('Cache-Control', 'no-store');
        ctx.status = 202;
        ctx.body = RESET_REQUESTED;
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/password-reset/confirm',
      summary: "Set a new password with the e-mail's token; every session of the account ends",
      tag: TAG,
      body: passwordResetConfirmSchema,
      before: limits.passwordResetConfirm,
      responses: {
        200: {
          description: 'The password is changed and every session of the account signed out (sign in with the new password)',
          schema: messageResponseSchema,
        },
        400: { description: 'INVALID_TOKEN (unknown, used or expired: one answer for all), or a password like sign-up refuses (VALIDATION_FAILED)' },
        429: RATE_LIMITED,
      },
      async handler(ctx, { body }) {
        await confirmPasswordReset(db, body, config);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { message: 'Your password was changed. Sign in with the new one.' };
      },
    }),
    route({
      method: 'get',
      path: '/api/auth/me',
      summary: 'The signed-in user',
      tag: TAG,
      auth: true,
      responses: {
        200: { description: 'The user as stored now', schema: userResponseSchema },
        401: { description: 'No valid access token (UNAUTHENTICATED)' },
      },
      async handler(ctx) {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { user: await currentUser(db, ctx.state.user!.id) };
      },
    }),
    route({
      method: 'patch',
      path: '/api/auth/me',
      summary: "Change the signed-in user's e-mail (accounts made through the old sign-up form have none)",
      tag: TAG,
      auth: true,
      body: mePatchSchema,
      responses: {
        200: { description: 'The user as stored now', schema: userResponseSchema },
        400: { description: 'Not an e-mail address (VALIDATION_FAILED)' },
        401: { description: 'No valid access token (UNAUTHENTICATED)' },
        409: { description: 'Another account has this e-mail (EMAIL_TAKEN)' },
      },
      async handler(ctx, { body }) {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { user: await setEmail(db, ctx.state.user!.id, body.email) };
      },
    }),
  ];
}
