import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { isMysql } from '../db/dialect.js';
import { fromDbTime, insertedId, likePattern, toDbTime } from '../db/values.js';
import { normalizeLogin } from './login.js';
import type { PublicUser, Role } from './users.schemas.js';

export interface UserRow {
  id: number;
  username: string;
  /** None for accounts made through the old sign-up form (docs/legacy.md). */
  email: string | null;
  password_hash: string;
  role: Role;
  disabled_at: string | null;
  /** Raised each time all the user's sessions are revoked (auth/session-revocations.ts). */
  session_epoch: number;
  sessions_revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: Number(row.id),
    username: row.username,
    email: row.email,
    role: row.role,
    created_at: fromDbTime(row.created_at) ?? '',
  };
}

export const usersRepository = {
  async insert(db: Db, user: { username: string; email: string | null; password_hash: string; role: Role }): Promise<number> {
    const now = toDbTime(new Date());
    return insertedId(await db('users').insert({ ...user, created_at: now, updated_at: now }));
  },

  findById(db: Db, id: number): Promise<UserRow | undefined> {
    return db<UserRow>('users').where({ id }).first();
  },

  /** The user's row, locked until the transaction ends (MariaDB; SQLite's transaction holds the file). */
  findByIdForUpdate(trx: Knex.Transaction, id: number): Promise<UserRow | undefined> {
    const q = trx<UserRow>('users').where({ id });
    return (isMysql(trx) ? q.forUpdate() : q).first();
  },

  findByUsername(db: Db, username: string): Promise<UserRow | undefined> {
    return db<UserRow>('users').where({ username }).first();
  },

  /**
   * The sign-in lookup, by a login folded with normalizeLogin (users/login.ts): the user whose
   * folded username or e-mail is exactly that, a username match first. The database is asked
   * with its own comparison (MariaDB's collation is broader than the fold), and only rows whose
   * folded username or e-mail equals the login are taken, so the lookup and the per-login rate
   * limit agree on both dialects. Bound parameters only.
   */
  async findByLogin(db: Db, login: string): Promise<UserRow | undefined> {
    const key = normalizeLogin(login);
    if (!key) return undefined;
    const rows = await db<UserRow>('users').where('username', key).orWhere('email', key).limit(10);
    return rows.find((r) => normalizeLogin(r.username) === key) ?? rows.find((r) => r.email !== null && normalizeLogin(r.email) === key);
  },

  /** A user holding this username or this (lower-cased) e-mail, if any. */
  findClash(db: Db, username: string, email: string | null): Promise<Pick<UserRow, 'username' | 'email'> | undefined> {
    // No e-mail clashes with nothing (knex would turn `email = null` into IS NULL).
    const q = db<UserRow>('users').where('username', username);
    if (email !== null) q.orWhere('email', email);
    return q.first('username', 'email');
  },

  /** Sets a user's e-mail: rows changed (a taken address fails on the unique key). */
  setEmail(db: Db, id: number, email: string): Promise<number> {
    return db('users')
      .where({ id })
      .update({ email, updated_at: toDbTime(new Date()) });
  },

  list(db: Db, f: { role?: Role; search?: string; limit: number; offset: number }): Promise<UserRow[]> {
    const q = db<UserRow>('users').select('*');
    if (f.role) q.where('role', f.role);
    if (f.search) {
      const p = likePattern(f.search);
      q.where((w) => w.whereRaw("LOWER(username) LIKE ? ESCAPE '!'", [p]).orWhereRaw("LOWER(email) LIKE ? ESCAPE '!'", [p]));
    }
    return q.orderBy('id', 'asc').limit(f.limit).offset(f.offset);
  },

  async update(db: Db, id: number, patch: Partial<Pick<UserRow, 'role' | 'password_hash'>>): Promise<number> {
    return db('users')
      .where({ id })
      .update({ ...patch, updated_at: toDbTime(new Date()) });
  },

  /** Sets the password of an enabled account: 0 when it is disabled or gone (a reset never revives one). */
  setPasswordIfEnabled(db: Db, id: number, passwordHash: string): Promise<number> {
    return db('users')
      .where({ id })
      .whereNull('disabled_at')
      .update({ password_hash: passwordHash, updated_at: toDbTime(new Date()) });
  },

  remove(db: Db, id: number): Promise<number> {
    return db('users').where({ id }).delete();
  },

  countOrders(db: Db, userId: number): Promise<number> {
    return db('orders')
      .where({ user_id: userId })
      .count({ n: '*' })
      .then((r) => Number(r[0].n));
  },
};
