/** SQL for `password_resets` (docs/data.md): one row per reset link, the token only as its SHA-256. */
import type { Db } from '../db/connection.js';
import { insertedId, toDbTime } from '../db/values.js';

export interface PasswordResetRow {
  id: number;
  user_id: number;
  token_hash: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export const passwordResetsRepository = {
  async insert(db: Db, reset: { user_id: number; token_hash: string; expires_at: Date }): Promise<number> {
    const row = { user_id: reset.user_id, token_hash: reset.token_hash, expires_at: toDbTime(reset.expires_at), created_at: toDbTime(new Date()) };
    return insertedId(await db('password_resets').insert(row));
  },

  /** How many unused links the user asked for since `since`. */
  async countOpenSince(db: Db, userId: number, since: Date): Promise<number> {
    const row = await db('password_resets')
      .where({ user_id: userId })
      .whereNull('used_at')
      .where('created_at', '>=', toDbTime(since))
      .count({ n: '*' })
      .first();
    return Number(row?.n ?? 0);
  },

  /** The row of a token that still works at `now` (unused, not expired), if any. */
  findUsable(db: Db, tokenHash: string, now: Date): Promise<PasswordResetRow | undefined> {
    return db<PasswordResetRow>('password_resets').where({ token_hash: tokenHash }).whereNull('used_at').where('expires_at', '>', toDbTime(now)).first();
  },

  /**
   * Uses a token: 1 when this call did, 0 when it was unknown, used or expired. The guard is the
   * single point two concurrent confirms of one token race on: exactly one changes the row.
   */
  use(db: Db, tokenHash: string, now: Date): Promise<number> {
    const at = toDbTime(now);
    return db('password_resets').where({ token_hash: tokenHash }).whereNull('used_at').where('expires_at', '>', at).update({ used_at: at });
  },

  /** Ends every other unused link of the user (after a reset, older e-mails must not work). */
  useAllOfUser(db: Db, userId: number, now: Date): Promise<number> {
    return db('password_resets')
      .where({ user_id: userId })
      .whereNull('used_at')
      .update({ used_at: toDbTime(now) });
  },
};
