/**
 * Signed-in users of any role for admin API tests: a real user row (through the users service)
 * and the Bearer header the app accepts for it.
 */
import { randomBytes } from 'node:crypto';
import { signAccessToken } from '../../src/auth/access-token.js';
import type { Db } from '../../src/db/connection.js';
import type { Role } from '../../src/users/users.schemas.js';
import { createUser } from './services.js';

const run = randomBytes(3).toString('hex');
let seq = 0;

export interface SignedIn {
  id: number;
  username: string;
  role: Role;
  password: string;
  auth: Record<string, string>;
}

export const PASSWORD = 'correct horse 1';

/** A new user of `role` in `db`, with a Bearer token for an app whose access-token secret is `secret`. */
export async function signedInAs(db: Db, secret: string, role: Role): Promise<SignedIn> {
  const n = ++seq;
  const name = `${role[0]}${run}_${n}`;
  const u = await createUser(db, { username: name, email: `${name}@example.com`, password: PASSWORD, role });
  return { id: u.id, username: u.username, role, password: PASSWORD, auth: { authorization: `Bearer ${signAccessToken({ id: u.id, role }, secret)}` } };
}
