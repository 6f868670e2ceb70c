/**
 * Accounts as the admin API and the CLI change them (docs/api.md, Admin API): roles, disabling
 * and enabling, each change with its audit row in the same transaction. The last enabled admin
 * can be neither demoted nor disabled (CONFLICT). A disabled account cannot sign in, and all its
 * sessions end in the same transaction, its access tokens included: every server refuses them
 * from the next request (auth/session-revocations.ts). A role change needs nothing of the kind:
 * admin routes read the role at each request (http/middleware/auth.ts).
 */
import type { Knex } from 'knex';
import type { Actor } from '../auth/permissions.js';
import { sessionRevocationsRepository } from '../auth/session-revocations.repository.js';
import { changedFields, recordAudit } from '../audit/audit.service.js';
import type { Db } from '../db/connection.js';
import { isMysql } from '../db/dialect.js';
import { fromDbTime, likePattern, toDbTime } from '../db/values.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import type { AdminUser, AdminUserPatch, AdminUserQuery } from './admin-users.schemas.js';
import { toPublicUser, usersRepository, type UserRow } from './users.repository.js';
import { usernameSchema } from './users.schemas.js';

async function orderCounts(db: Db, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const rows: { user_id: number; n: number | string }[] = await db('orders').select('user_id').count({ n: '*' }).whereIn('user_id', ids).groupBy('user_id');
  return new Map(rows.map((r) => [Number(r.user_id), Number(r.n)]));
}

function toAdminUser(row: UserRow, orders: number): AdminUser {
  return {
    ...toPublicUser(row),
    disabled: row.disabled_at !== null && row.disabled_at !== undefined,
    disabled_at: fromDbTime(row.disabled_at),
    order_count: orders,
  };
}

export async function adminListUsers(db: Db, q: AdminUserQuery): Promise<{ items: AdminUser[]; total: number }> {
  const filtered = () => {
    const w = db<UserRow>('users');
    if (q.role) w.where('role', q.role);
    if (q.q) {
      const p = likePattern(q.q);
      w.where((x) => x.whereRaw("LOWER(username) LIKE ? ESCAPE '!'", [p]).orWhereRaw("LOWER(email) LIKE ? ESCAPE '!'", [p]));
    }
    return w;
  };
  const [rows, count] = await Promise.all([filtered().select('*').orderBy('id', 'asc').limit(q.limit).offset(q.offset), filtered().count({ n: '*' })]);
  const counts = await orderCounts(
    db,
    (rows as UserRow[]).map((r) => Number(r.id)),
  );
  return { items: (rows as UserRow[]).map((r) => toAdminUser(r, counts.get(Number(r.id)) ?? 0)), total: Number(count[0].n) };
}

export async function adminGetUser(db: Db, id: number): Promise<AdminUser> {
  const row = await usersRepository.findById(db, id);
  if (!row) throw notFound('User');
  return toAdminUser(row, (await orderCounts(db, [id])).get(id) ?? 0);
}

/** The user's id from a username (the CLI names users by username). */
export async function userIdByUsername(db: Db, username: string): Promise<number> {
  const row = await usersRepository.findByUsername(db, parseInput(usernameSchema, username, 'username'));
  if (!row) throw notFound(`User "${username}"`);
  return Number(row.id);
}

const isActiveAdmin = (u: Pick<UserRow, 'role' | 'disabled_at'>) => u.role === 'admin' && !u.disabled_at;

/**
 * Changes a user's role and/or disabled state. Every enabled admin's row is locked (MySQL;
 * SQLite's transaction holds the file) before the last-admin check, so two admins demoting each
 * other at once cannot both succeed.
 */
export async function adminUpdateUser(db: Db, actor: Actor, id: number, patch: AdminUserPatch): Promise<AdminUser> {
  const row = await inTransaction(db, async (trx: Knex.Transaction) => {
    const admins = trx<UserRow>('users').select('id').where('role', 'admin').whereNull('disabled_at');
    if (isMysql(trx)) admins.forUpdate();
    const adminIds = (await admins).map((r) => Number(r.id));
    const lock = trx<UserRow>('users').where({ id });
    if (isMysql(trx)) lock.forUpdate();
    const before = (await lock.first()) as UserRow | undefined;
    if (!before) throw notFound('User');

    const now = new Date();
    const next = {
      role: patch.role ?? before.role,
      disabled_at: patch.disabled === undefined ? (before.disabled_at ?? null) : patch.disabled ? (before.disabled_at ?? toDbTime(now)) : null,
    };
    if (isActiveAdmin(before) && !isActiveAdmin(next) && adminIds.filter((a) => a !== id).length === 0) {
      throw new AppError('CONFLICT', `${before.username} is the last admin: make another admin first.`);
    }
    const fields = (u: Pick<UserRow, 'role' | 'disabled_at'>) => ({ role: u.role, disabled: Boolean(u.disabled_at) });
    const diff = changedFields(fields(before), fields(next));
    if (Object.keys(diff.after).length === 0) return before;

    await trx('users')
      .where({ id })
      .update({ role: next.role, disabled_at: next.disabled_at, updated_at: toDbTime(now) });
    if (next.disabled_at && !before.disabled_at) await sessionRevocationsRepository.revokeAll(trx, id, now);
    const action =
      'disabled' in diff.after && !('role' in diff.after)
        ? diff.after.disabled
          ? 'user.disable'
          : 'user.enable'
        : 'role' in diff.after && !('disabled' in diff.after)
          ? 'user.role'
          : 'user.update';
    await recordAudit(trx, actor, { action, targetType: 'user', targetId: id, ...diff });
    return { ...before, ...next } as UserRow;
  });
  return toAdminUser(row, (await orderCounts(db, [id])).get(id) ?? 0);
}
