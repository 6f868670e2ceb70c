/**
 * Sign-up, sign-in, refresh-token rotation and sign-out. Knows nothing of HTTP: it returns the
 * user and the token pair, the route puts them in cookies.
 *
 * Refresh tokens are opaque (256 random bits); only their SHA-256 is stored. Every sign-in starts
 * a family; each refresh revokes the presented token and issues its successor in the same family.
 * A revoked token presented again means it was copied: the whole family is revoked, except
 * within a short grace window (REFRESH_REUSE_GRACE_SECONDS) after its rotation, when it is two
 * tabs or two requests of one browser refreshing at once: then the same successor comes back.
 * That is possible without storing tokens because a successor is derived from its predecessor
 * (HMAC with REFRESH_TOKEN_SECRET): only the holder of the rotated token can name it again.
 *
 * Rows do not pile up: every sign-in, sign-up and refresh deletes that user's tokens that have
 * expired (a short indexed read that finds nothing most of the time). Revoked tokens are kept
 * until they expire (at most 7 days), because they are what detects a stolen token's reuse;
 * an expired token is refused anyway, revoked or not.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { fromDbTime } from '../db/values.js';
import { isRetryableLockError, isUniqueViolation } from '../db/errors.js';
import { retryingStatement, retryingTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { accountDisabled, checkCredentials, createUser } from '../users/users.service.js';
import { toPublicUser, usersRepository } from '../users/users.repository.js';
import type { PublicUser } from '../users/users.schemas.js';
import { ACCESS_TOKEN_TTL_SECONDS, signAccessToken } from './access-token.js';
import { refreshTokensRepository as tokens, type RefreshTokenRow } from './refresh-tokens.repository.js';
import type { SigninInput, SignupInput } from './auth.schemas.js';

const REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

/** base64url of 32 random bytes. */
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  user: PublicUser;
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

type TokenSecrets = Pick<Config, 'accessTokenSecret'>;
/** What refreshing needs: the secrets and the reuse grace window (config.ts). */
export type RefreshConfig = TokenSecrets & Partial<Pick<Config, 'refreshTokenSecret' | 'refreshReuseGraceSeconds'>>;
/** What sign-up and sign-in need of the app's configuration (bcryptCost: else the process's). */
type AuthConfig = TokenSecrets & Pick<Config, 'bcryptCost'>;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const unauthenticated = () => new AppError('UNAUTHENTICATED', 'Sign in to continue.');
const reused = () => new AppError('TOKEN_REUSED', 'This session was ended because its refresh token was used twice. Sign in again.');

function newRefreshToken(now: Date, token = randomBytes(32).toString('base64url')) {
  return { token, hash: hashRefreshToken(token), expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000) };
}

/** The successor of a refresh token: the same for every rotation of it (see the module comment). */
function successorOf(token: string, config: RefreshConfig): string {
  return createHmac('sha256', config.refreshTokenSecret ?? config.accessTokenSecret)
    .update(`refresh-successor\n${token}`)
    .digest('base64url');
}

const GRACE_CHAIN_MAX = 8;

/**
 * The token a just-rotated one leads to, when every rotation on the way happened within the
 * grace window and was a real rotation (its successor is the derived one). A token revoked by
 * sign-out or a family revoke has no successor: undefined, and the caller treats it as reuse.
 */
async function graceSuccessor(db: Db, row: RefreshTokenRow, token: string, config: RefreshConfig, now: Date) {
  const graceMs = (config.refreshReuseGraceSeconds ?? 0) * 1000;
  if (graceMs <= 0) return undefined;
  let current = row;
  let currentToken = token;
  for (let step = 0; step < GRACE_CHAIN_MAX; step++) {
    if (current.revoked_at === null) return { row: current, token: currentToken };
    if (current.replaced_by_id === null) return undefined;
    const revokedAt = Date.parse(fromDbTime(current.revoked_at) ?? '');
    if (!(now.getTime() - revokedAt <= graceMs)) return undefined;
    const nextToken = successorOf(currentToken, config);
    const next = await tokens.findByHash(db, hashRefreshToken(nextToken));
    if (!next || Number(next.id) !== Number(current.replaced_by_id)) return undefined;
    current = next;
    currentToken = nextToken;
  }
  return undefined;
}

/**
 * The session's token pair. `epoch` is the user's session epoch read together with the check that
 * let them in (enabled, password right): a revocation committed after that read has a higher
 * epoch, so the access token is refused at once (session-revocations.ts).
 */
function sessionOf(user: PublicUser, epoch: number, familyId: string, refresh: { token: string; expiresAt: Date }, config: TokenSecrets, now: Date): Session {
  return {
    user,
    accessToken: signAccessToken({ id: user.id, role: user.role, sid: familyId, epoch }, config.accessTokenSecret),
    accessExpiresAt: new Date(now.getTime() + ACCESS_TOKEN_TTL_SECONDS * 1000),
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt,
  };
}

/**
 * Deletes the user's expired refresh tokens. Housekeeping only: a lock conflict with a
 * concurrent request is left for the next sign-in or refresh to finish, never a failed request.
 */
async function pruneExpired(db: Db, userId: number, now: Date): Promise<void> {
  try {
    await tokens.deleteExpired(db, userId, now);
  } catch (err) {
    if (!isRetryableLockError(err)) throw err;
  }
}

/** Starts a new session (token family) for a user who just proved who they are. */
async function startSession(db: Db, user: PublicUser, epoch: number, config: TokenSecrets): Promise<Session> {
  const now = new Date();
  const familyId = randomUUID();
  const refresh = newRefreshToken(now);
  // A deadlock victim's insert (autocommit) was rolled back whole: running it again is safe.
  await retryingStatement(() => tokens.insert(db, { user_id: user.id, token_hash: refresh.hash, family_id: familyId, expires_at: refresh.expiresAt }));
  // A revocation (disable, password reset) that committed after the check that let the user in
  // but before this insert did not end this token: its epoch is then higher than the one read
  // with the check. Read again after the insert, and end the session if so; otherwise the
  // refresh token would outlive the revocation (a reset password, an account enabled again).
  const after = await usersRepository.findById(db, user.id);
  if (!after || after.disabled_at || Number(after.session_epoch) !== epoch) {
    await retryingStatement(() => tokens.revokeFamily(db, familyId, now));
    throw after?.disabled_at ? accountDisabled() : new AppError('INVALID_CREDENTIALS', 'Invalid login or password.');
  }
  await pruneExpired(db, user.id, now);
  return sessionOf(user, epoch, familyId, refresh, config, now);
}

/**
 * Creates a customer account and signs it in. The role is always customer, whatever was sent.
 * Not one transaction with the token insert on purpose: bcrypt runs inside createUser, and a
 * transaction held open across it would stall SQLite's single connection for everyone.
 * If the token insert failed, the account exists and signing in works.
 */
export async function signup(db: Db, input: Omit<SignupInput, 'email'> & { email: string | null }, config: AuthConfig): Promise<Session> {
  const user = await createUser(
    db,
    { username: input.username, email: input.email, password: input.password, role: 'customer' },
    { bcryptCost: config.bcryptCost },
  );
  return startSession(db, user, 0, config);
}

/** Unknown user and wrong password fail alike (INVALID_CREDENTIALS), after the same bcrypt work. */
export async function signin(db: Db, input: SigninInput, config: AuthConfig): Promise<Session> {
  const row = await checkCredentials(db, input.login, input.password, { bcryptCost: config.bcryptCost });
  return startSession(db, toPublicUser(row), Number(row.session_epoch), config);
}

/** A marker for the transaction to roll back on: someone else rotated the token first. */
class ConcurrentReuse extends Error {}

/**
 * Rotates a refresh token: the user is read afresh (role changes apply, a deleted user is
 * signed out), the successor is inserted and the presented token revoked with a guarded update,
 * in one transaction. If the guard finds the token already revoked, a concurrent request used it
 * first: that is reuse too, and the family goes.
 */
export async function refresh(db: Db, token: string | undefined, config: RefreshConfig): Promise<Session> {
  if (!token || !REFRESH_TOKEN_SHAPE.test(token)) throw unauthenticated();
  const row = await tokens.findByHash(db, hashRefreshToken(token));
  if (!row) throw unauthenticated();
  const now = new Date();
  if (row.revoked_at !== null) return reuseOrGrace(db, row, token, config, now);
  if (new Date(fromDbTime(row.expires_at) ?? 0).getTime() <= now.getTime()) throw unauthenticated();
  const userRow = await usersRepository.findById(db, row.user_id);
  if (!userRow) throw unauthenticated();
  if (userRow.disabled_at) {
    // Disabling revokes every session already; this covers a token rotated in the meantime.
    await retryingStatement(() => tokens.revokeFamily(db, row.family_id, now));
    throw unauthenticated();
  }

  const next = newRefreshToken(now, successorOf(token, config));
  try {
    // Retried whole after a deadlock: the guarded update then decides afresh who was first.
    await retryingTransaction(db, async (trx) => {
      const nextId = await tokens.insert(trx, { user_id: row.user_id, token_hash: next.hash, family_id: row.family_id, expires_at: next.expiresAt });
      if ((await tokens.revokeIfActive(trx, row.id, now, nextId)) === 0) throw new ConcurrentReuse();
    });
  } catch (err) {
    // A concurrent rotation of the same token was first (its successor is the same token, so
    // the insert may be what collided): within the grace window that is the answer.
    if (!(err instanceof ConcurrentReuse) && !isUniqueViolation(err)) throw err;
    const now2 = new Date();
    const fresh = await tokens.findByHash(db, hashRefreshToken(token));
    if (!fresh || fresh.revoked_at === null) throw err;
    return reuseOrGrace(db, fresh, token, config, now2);
  }
  await pruneExpired(db, row.user_id, now);
  return sessionOf(toPublicUser(userRow), Number(userRow.session_epoch), row.family_id, next, config, now);
}

/**
 * A revoked token presented: the successor it was rotated to (grace window), or reuse, which
 * revokes the whole family (TOKEN_REUSED).
 */
async function reuseOrGrace(db: Db, row: RefreshTokenRow, token: string, config: RefreshConfig, now: Date): Promise<Session> {
  const successor = await graceSuccessor(db, row, token, config, now);
  if (successor) {
    const expiresAt = new Date(fromDbTime(successor.row.expires_at) ?? 0);
    if (expiresAt.getTime() <= now.getTime()) throw unauthenticated();
    const userRow = await usersRepository.findById(db, row.user_id);
    if (!userRow) throw unauthenticated();
    return sessionOf(toPublicUser(userRow), Number(userRow.session_epoch), row.family_id, { token: successor.token, expiresAt }, config, now);
  }
  await retryingStatement(() => tokens.revokeFamily(db, row.family_id, now));
  throw reused();
}

/**
 * Ends a session: revokes the presented refresh token if it is still active, or, without one,
 * the active tokens of the session named by a (valid) access token. Never fails for a missing,
 * unknown or already revoked token: signing out twice is fine.
 */
export async function logout(db: Db, presented: { refreshToken?: string; sessionId?: string }): Promise<void> {
  const now = new Date();
  if (presented.refreshToken && REFRESH_TOKEN_SHAPE.test(presented.refreshToken)) {
    const row = await tokens.findByHash(db, hashRefreshToken(presented.refreshToken));
    if (row) {
      await retryingStatement(() => tokens.revokeIfActive(db, row.id, now));
      return;
    }
  }
  const sessionId = presented.sessionId;
  if (sessionId) await retryingStatement(() => tokens.revokeFamily(db, sessionId, now));
}

/** The signed-in user as stored now; a user deleted since the token was issued is signed out. */
export async function currentUser(db: Db, userId: number): Promise<PublicUser> {
  const row = await usersRepository.findById(db, userId);
  if (!row || row.disabled_at) throw unauthenticated();
  return toPublicUser(row);
}
