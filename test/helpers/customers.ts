/**
 * Signed-in customers for API tests: a real user row (through the users service) and the Bearer
 * header the app accepts for it. Names are unique per test process, so files can share one db.
 */
import { randomBytes } from 'node:crypto';
import { signAccessToken } from '../../src/auth/access-token.js';
import type { Db } from '../../src/db/connection.js';
import type { Role } from '../../src/users/users.schemas.js';
import { createUser } from './services.js';

const run = randomBytes(3).toString('hex');
let seq = 0;

export interface Customer {
  id: number;
  username: string;
  role: Role;
  /** `{ authorization: 'Bearer …' }` */
  auth: Record<string, string>;
}

/** A new customer in `db`, signed in for an app whose access-token secret is `secret`. */
export async function signedInCustomer(db: Db, secret: string, prefix = 'c'): Promise<Customer> {
  const n = ++seq;
  const u = await createUser(db, { username: `${prefix}${run}_${n}`, email: `${prefix}${run}_${n}@example.com`, password: 'correct horse 1' });
  return { id: u.id, username: u.username, role: u.role, auth: { authorization: `Bearer ${signAccessToken({ id: u.id, role: u.role }, secret)}` } };
}
