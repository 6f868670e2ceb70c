/**
 * The sign-in session named by an access token, for sign-out only. The signature is checked
 * (HS256 only, as for every access token) but the expiry is not: signing out after 15 idle
 * minutes, when the refresh cookie (Path=/api/auth) is not sent to POST /api/logout, must still
 * revoke the session. Revoking is all this can lead to; nothing is granted on an expired token.
 */
import jwt from 'jsonwebtoken';
import { hmacKey } from './access-token.js';

/** The `sid` of a token signed with `secret`, expired or not; undefined for anything else. */
export function sessionIdOf(token: string, secret: string): string | undefined {
  try {
    const payload = jwt.verify(token, hmacKey(secret), { algorithms: ['HS256'], ignoreExpiration: true });
    const sid = typeof payload === 'object' && payload !== null ? (payload as { sid?: unknown }).sid : undefined;
    return typeof sid === 'string' && sid ? sid : undefined;
  } catch {
    return undefined;
  }
}
