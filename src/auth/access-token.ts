import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppError } from '../errors.js';
import { ROLES, type Role } from '../users/users.schemas.js';

const keys = new Map<string, KeyObject>();

/**
 * The secret as a KeyObject, made once. Given a string, jsonwebtoken first tries to read it as
 * a public key on every call (createPublicKey, then falls back): that was most of the cost of a
 * signed-in request.
 */
export function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export interface AccessClaims {
  id: number;
  role: Role;
  /** The sign-in session (refresh-token family) the token was issued for, when there is one. */
  sid?: string;
  /**
   * The user's session epoch when the token was issued (claim `ep`; absent means 0): once their
   * sessions are revoked the epoch is higher and the token is refused (auth/session-revocations.ts).
   */
  epoch?: number;
}

export function signAccessToken(user: AccessClaims, secret: string): string {
  const claims = { role: user.role, ...(user.sid ? { sid: user.sid } : {}), ...(user.epoch ? { ep: user.epoch } : {}) };
  return jwt.sign(claims, hmacKey(secret), {
    algorithm: 'HS256',
    subject: String(user.id),
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
  });
}

/** Verifies an access token: HS256 only (no `none`, no key confusion), signature, expiry. */
export function verifyAccessToken(token: string, secret: string, nowMs = Date.now()): AccessClaims {
  try {
    const payload = jwt.verify(token, hmacKey(secret), { algorithms: ['HS256'], clockTimestamp: Math.floor(nowMs / 1000) });
    if (typeof payload !== 'object' || payload === null) throw new Error('bad payload');
    const id = Number(payload.sub);
    const { role, sid, exp, ep } = payload as { role?: unknown; sid?: unknown; exp?: unknown; ep?: unknown };
    if (!Number.isSafeInteger(id) || id <= 0 || !ROLES.includes(role as Role) || typeof exp !== 'number') throw new Error('bad claims');
    if (ep !== undefined && !(Number.isSafeInteger(ep) && (ep as number) >= 0)) throw new Error('bad claims');
    const claims: AccessClaims = { id, role: role as Role };
    if (typeof sid === 'string' && sid) claims.sid = sid;
    if (ep) claims.epoch = ep as number;
    return claims;
  } catch {
    throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
  }
}
