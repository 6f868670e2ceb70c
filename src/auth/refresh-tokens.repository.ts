import type { Db } from '../db/connection.js';
import { insertedId, toDbTime } from '../db/values.js';

export interface RefreshTokenRow {
  id: number;
  user_id: number;
  token_hash: string;
  family_id: string;
  expires_at: string;
  revoked_at: string | null;
  replaced_by_id: number | null;
  created_at: string;
}

export const refreshTokensRepository = {
  async insert(db: Db, token: { user_id: number; token_hash: string; family_id: string; expires_at: Date }): Promise<number> {
    // No returning(): both dialects answer an insert with the new id already (MySQL warns on it).
    const row = {
      user_id: token.user_id,
      token_hash: token.token_hash,
      family_id: token.family_id,
      expires_at: toDbTime(token.expires_at),
      created_at: toDbTime(new Date()),
    };
    return insertedId(await db('refresh_tokens').insert(row));
  },

  findByHash(db: Db, tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return db<RefreshTokenRow>('refresh_tokens').where({ token_hash: tokenHash }).first();
  },

  /**
   * Revokes one token if it is still active, recording what replaced it. The `revoked_at IS NULL`
   * guard makes this the single point two concurrent rotations of the same token race on:
   * exactly one of them gets 1 row affected.
   */
  revokeIfActive(db: Db, id: number, at: Date, replacedById: number | null = null): Promise<number> {
    return db('refresh_tokens')
      .where({ id })
      .whereNull('revoked_at')
      .update({ revoked_at: toDbTime(at), replaced_by_id: replacedById });
  },

  /**
   * Deletes up to `limit` of a user's tokens that expired before `now` (revoked or not). Their
   * ids are read first and deleted by primary key, so on MariaDB only those rows are locked:
   * a range delete would take gap locks on the user's index entries and make concurrent
   * sign-ins of one user deadlock on their inserts.
   */
  async deleteExpired(db: Db, userId: number, now: Date, limit = 500): Promise<number> {
    const at = toDbTime(now);
    const ids = await db('refresh_tokens').where('user_id', userId).where('expires_at', '<', at).limit(limit).pluck('id');
    if (ids.length === 0) return 0;
    return db('refresh_tokens').whereIn('id', ids).where('expires_at', '<', at).delete();
  },

  /** Revokes every still-active token of a user: all their sessions end (a disabled account). */
  revokeAllOfUser(db: Db, userId: number, at: Date): Promise<number> {
    return db('refresh_tokens')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: toDbTime(at) });
  },

  /** Revokes every still-active token of a family (a sign-in session). */
  revokeFamily(db: Db, familyId: string, at: Date): Promise<number> {
    return db('refresh_tokens')
      .where({ family_id: familyId })
      .whereNull('revoked_at')
      .update({ revoked_at: toDbTime(at) });
  },
};
