import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { sqlGet } from '../db/prepared.js';
import { atEndOfTransaction, inTransaction } from '../db/transaction.js';
import { toDbTime } from '../db/values.js';
import { refreshTokensRepository } from './refresh-tokens.repository.js';

/** Raises the one-row auth revision; in a retryingTransaction as its last statement (as the catalog's). */
function bumpRevision(trx: Knex.Transaction): Promise<unknown> {
  return trx('auth_revision')
    .where({ id: 1 })
    .update({ revision: trx.raw('revision + 1') });
}

/** Session revocation's SQL (docs/data.md, "Session revocation"; the rule is in session-revocations.ts). */
export const sessionRevocationsRepository = {
  /**
   * Ends every session of a user, in the caller's transaction (or a new one): their refresh
   * tokens are revoked, their session epoch raised (so every access token issued before is
   * refused), and the auth revision raised, all in one commit.
   */
  revokeAll(db: Db, userId: number, at: Date): Promise<void> {
    return inTransaction(db, async (trx) => {
      await trx('users')
        .where({ id: userId })
        .update({ session_epoch: trx.raw('session_epoch + 1'), sessions_revoked_at: toDbTime(at) });
      await refreshTokensRepository.revokeAllOfUser(trx, userId, at);
      if (!atEndOfTransaction(trx, 'auth_revision', bumpRevision)) await bumpRevision(trx);
    });
  },

  /** The auth revision: changes whenever sessions are revoked, once that commits. One primary-key read. */
  async revision(db: Db): Promise<string> {
    const row = await sqlGet<{ revision: number | string }>(db, 'SELECT revision FROM auth_revision WHERE id = 1', []);
    return String(row?.revision ?? 0);
  },

  /** The session epoch of every user whose sessions were revoked after `since` (an index range read). */
  async epochsRevokedSince(db: Db, since: Date): Promise<Map<number, number>> {
    const rows: { id: number; session_epoch: number | string }[] = await db('users')
      .select('id', 'session_epoch')
      .where('sessions_revoked_at', '>', toDbTime(since));
    return new Map(rows.map((r) => [Number(r.id), Number(r.session_epoch)]));
  },
};
