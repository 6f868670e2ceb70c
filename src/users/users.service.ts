import type { Db } from '../db/connection.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import { passwordResetsRepository } from '../auth/password-resets.repository.js';
import { sessionRevocationsRepository } from '../auth/session-revocations.repository.js';
import { inTransaction } from '../db/transaction.js';
import { enqueueEmailChanged } from '../notifications/account-email.js';
import { AppError, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { dummyHash, hashPassword, verifyPassword } from './password.js';
import { toPublicUser, type UserRow, usersRepository as repo } from './users.repository.js';
import {
  emailSchema,
  newUserSchema,
  passwordSchema,
  roleSchema,
  userListSchema,
  usernameSchema,
  type NewUser,
  type PublicUser,
  type Role,
} from './users.schemas.js';

/**
 * Which unique key a failed insert hit. Knex prefixes the driver's message with the SQL and its
 * values (which always name the email column), so only the key named at the end of the message
 * counts: SQLite "UNIQUE constraint failed: users.email", MySQL "... for key 'users_email_unique'".
 */
const EMAIL_KEY = /(?:UNIQUE constraint failed: users\.email|for key '(?:users\.)?users_email_unique')$/;

/** A disabled account (admin or `users disable`) cannot sign in or refresh. */
export const accountDisabled = () => new AppError('FORBIDDEN', 'This account is disabled.');

const usernameTaken = () => new AppError('USERNAME_TAKEN', 'That username is already taken.');
const emailTaken = () => new AppError('EMAIL_TAKEN', 'That e-mail address is already registered.');

function takenError(err: unknown): AppError | undefined {
  if (!isUniqueViolation(err)) return undefined;
  return EMAIL_KEY.test(String((err as Error).message)) ? emailTaken() : usernameTaken();
}

/** bcrypt's cost factor, from the caller's configuration (BCRYPT_COST). */
export interface PasswordOptions {
  bcryptCost: number;
}
const costOf = (opts: PasswordOptions) => opts.bcryptCost;

export async function createUser(db: Db, input: NewUser, opts: PasswordOptions): Promise<PublicUser> {
  const data = parseInput(newUserSchema, input, 'user');
  // Cheap friendly check first; the unique keys are what actually guarantee it under concurrency.
  const clash = await repo.findClash(db, data.username, data.email);
  if (clash) {
    // Emails are stored lower-cased, so an exact compare is reliable on both dialects; usernames
    // are not (MySQL's collation matches 'Nina' to 'nina'), so a clash on anything but the
    // e-mail is a username clash.
    throw clash.username === data.username || clash.email !== data.email ? usernameTaken() : emailTaken();
  }
  const password_hash = await hashPassword(data.password, costOf(opts));
  try {
    const id = await repo.insert(db, { username: data.username, email: data.email, password_hash, role: data.role });
    return toPublicUser((await repo.findById(db, id))!);
  } catch (err) {
    throw takenError(err) ?? err;
  }
}

/**
 * Sets (or changes) a user's e-mail; EMAIL_TAKEN when another user has it. A change queues the
 * security notice to the old address and ends the user's unused password-reset links, in the same
 * transaction (notifications/account-email.ts);
 * the row is locked first, so two changes at once each tell the address they replaced.
 */
export async function setEmail(db: Db, userId: number, email: unknown): Promise<PublicUser> {
  const address = parseInput(emailSchema, email, 'email');
  const clash = await repo.findClash(db, '', address);
  if (clash && clash.email === address) {
    const row = await repo.findById(db, userId);
    if (row?.email !== address) throw emailTaken();
  }
  try {
    return await inTransaction(db, async (trx) => {
      const before = await repo.findByIdForUpdate(trx, userId);
      if (!before) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
      if (before.email === address) return toPublicUser(before);
      const at = new Date();
      await repo.setEmail(trx, userId, address);
      // Reset links already mailed went to the old address, which may be why it is being left.
      await passwordResetsRepository.useAllOfUser(trx, userId, at);
      await enqueueEmailChanged(trx, { userId, username: before.username, oldEmail: before.email, newEmail: address, at });
      return toPublicUser({ ...before, email: address });
    });
  } catch (err) {
    throw takenError(err) ?? err;
  }
}

export async function getUser(db: Db, id: number): Promise<PublicUser> {
  const row = await repo.findById(db, id);
  if (!row) throw notFound('User');
  return toPublicUser(row);
}

async function requireByUsername(db: Db, username: string) {
  const row = await repo.findByUsername(db, parseInput(usernameSchema, username, 'username'));
  if (!row) throw notFound(`User "${username}"`);
  return row;
}

export async function getUserByUsername(db: Db, username: string): Promise<PublicUser> {
  return toPublicUser(await requireByUsername(db, username));
}

export async function listUsers(db: Db, filter: { role?: string; search?: string; limit?: number | string } = {}): Promise<PublicUser[]> {
  const f = parseInput(userListSchema, filter, 'filter');
  return (await repo.list(db, f)).map(toPublicUser);
}

export async function setRole(db: Db, username: string, role: string): Promise<PublicUser> {
  const r: Role = parseInput(roleSchema, role, 'role');
  const row = await requireByUsername(db, username);
  await repo.update(db, row.id, { role: r });
  return toPublicUser({ ...row, role: r });
}

export async function setPassword(db: Db, username: string, password: string, opts: PasswordOptions): Promise<PublicUser> {
  const p = parseInput(passwordSchema, password, 'password');
  const row = await requireByUsername(db, username);
  const passwordHash = await hashPassword(p, costOf(opts));
  // A new password ends every session, as a reset does (docs/data.md, "Session revocation"):
  // whoever held the old one keeps no refresh token and no access token.
  await inTransaction(db, async (trx) => {
    await repo.update(trx, row.id, { password_hash: passwordHash });
    await sessionRevocationsRepository.revokeAll(trx, row.id, new Date());
  });
  return toPublicUser(row);
}

export async function removeUser(db: Db, username: string): Promise<PublicUser> {
  const row = await requireByUsername(db, username);
  const hasOrders = () => new AppError('CONFLICT', `User "${username}" has orders and cannot be removed.`);
  // Orders are the shop's records: a customer with orders is kept (demote or leave them instead).
  // The check and the delete are one transaction, and an order placed in between still cannot
  // slip through: the orders foreign key refuses the delete, reported the same way.
  try {
    await db.transaction(async (trx) => {
      if ((await repo.countOrders(trx, row.id)) > 0) throw hasOrders();
      await repo.remove(trx, row.id);
    });
  } catch (err) {
    throw isForeignKeyViolation(err) ? hasOrders() : err;
  }
  return toPublicUser(row);
}

/**
 * Checks a login (username or e-mail) and password. Unknown users and wrong passwords fail the
 * same way after the same bcrypt work. The login is only ever a bound parameter.
 */
export async function verifyCredentials(db: Db, login: string, password: string, opts: PasswordOptions): Promise<PublicUser> {
  return toPublicUser(await checkCredentials(db, login, password, opts));
}

/** verifyCredentials, answering with the user's row (sign-in needs its session epoch, read with the check). */
export async function checkCredentials(db: Db, login: string, password: string, opts: PasswordOptions): Promise<UserRow> {
  const fail = () => new AppError('INVALID_CREDENTIALS', 'Invalid login or password.');
  // The cost of the dummy hash an unknown login is compared with: the same as real hashes.
  const cost = costOf(opts);
  if (typeof login !== 'string' || typeof password !== 'string' || login.length > 255 || Buffer.byteLength(password) > 72) {
    await verifyPassword(String(password).slice(0, 72), await dummyHash(cost));
    throw fail();
  }
  const row = await repo.findByLogin(db, login);
  const ok = await verifyPassword(password, row ? row.password_hash : await dummyHash(cost));
  if (!row || !ok) throw fail();
  // Said only to someone who knows the password (docs/api.md, Admin API: disabled accounts).
  if (row.disabled_at) throw accountDisabled();
  return row;
}
