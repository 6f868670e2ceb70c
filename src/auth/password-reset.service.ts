/**
 * Password reset (docs/api.md, "Password reset"). A request for an account that has an e-mail
 * stores a new single-use token (only its SHA-256) and queues the e-mail carrying it, in one
 * transaction; any other login — unknown, disabled, without an e-mail — does nothing, and the
 * caller answers the same either way. Confirming uses the token with one guarded update, sets the
 * password and ends every session of the user, in one transaction.
 *
 * Earlier unused links of a user are kept when a new one is requested (the e-mails may arrive out
 * of order, and any of them should work while it lasts); a successful reset ends all of them.
 * While an account has MAX_OPEN_LINKS links asked for within the last PASSWORD_RESET_MINUTES and
 * not used, a further request sends nothing: the per-address rate limits cannot stop many
 * addresses from flooding one person's mailbox, this does.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { retryingTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { enqueue } from '../outbox/outbox.repository.js';
import { hashPassword } from '../users/password.js';
import { usersRepository } from '../users/users.repository.js';
import type { PasswordResetConfirmInput } from './auth.schemas.js';
import { passwordResetsRepository as resets } from './password-resets.repository.js';
import { sessionRevocationsRepository } from './session-revocations.repository.js';

/** base64url of 32 random bytes. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const PASSWORD_RESET_TOPIC = 'password.reset';
export const PASSWORD_RESET_TEMPLATE = 'password.reset';
export const MAX_OPEN_LINKS = 3;

export function hashResetToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** One answer for a token that is unknown, used or expired (and for a disabled account's). */
export const invalidResetToken = () => new AppError('INVALID_TOKEN', 'This password-reset link is invalid, already used or expired. Ask for a new one.');

/**
 * Starts a reset for `login` when it names an enabled account with an e-mail; otherwise does
 * nothing. Never says which: the route answers the same (no account enumeration).
 */
export async function requestPasswordReset(db: Db, login: string, opts: Pick<Config, 'passwordResetMinutes'>): Promise<void> {
  const user = await usersRepository.findByLogin(db, login);
  if (!user?.email || user.disabled_at) return;
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + opts.passwordResetMinutes * 60_000);
  try {
    await retryingTransaction(db, async (trx) => {
      const since = new Date(Date.now() - opts.passwordResetMinutes * 60_000);
      if ((await resets.countOpenSince(trx, user.id, since)) >= MAX_OPEN_LINKS) return;
      const id = await resets.insert(trx, { user_id: user.id, token_hash: hashResetToken(token), expires_at: expiresAt });
      await enqueue(trx, {
        kind: 'email',
        topic: PASSWORD_RESET_TOPIC,
        key: `password-reset.${id}`,
        payload: {
          to: user.email as string,
          template: PASSWORD_RESET_TEMPLATE,
          data: { username: user.username, token, expires_at: expiresAt.toISOString(), minutes: opts.passwordResetMinutes },
          // Removed from the stored payload once the e-mail is sent (docs/data.md, "outbox").
          secret: ['token'],
        },
      });
    });
  } catch (err) {
    // The account was deleted meanwhile: as for an unknown login, nothing happens.
    if (!isForeignKeyViolation(err)) throw err;
  }
}

/**
 * Sets a new password with a reset token. The password is hashed before the transaction (bcrypt
 * must not hold SQLite's single writer); the token is checked first without a lock so a bad one
 * costs no hashing, and then used with a guarded update: of two concurrent confirms, only the one
 * that changed the row goes on. A disabled account stays disabled and keeps its password.
 */
export async function confirmPasswordReset(db: Db, input: PasswordResetConfirmInput, opts: Pick<Config, 'bcryptCost'>): Promise<void> {
  if (!TOKEN_SHAPE.test(input.token)) throw invalidResetToken();
  const tokenHash = hashResetToken(input.token);
  const reset = await resets.findUsable(db, tokenHash, new Date());
  if (!reset) throw invalidResetToken();
  const passwordHash = await hashPassword(input.password, opts.bcryptCost);
  await retryingTransaction(db, async (trx) => {
    const now = new Date();
    if ((await resets.use(trx, tokenHash, now)) === 0) throw invalidResetToken();
    if ((await usersRepository.setPasswordIfEnabled(trx, reset.user_id, passwordHash)) === 0) throw invalidResetToken();
    await resets.useAllOfUser(trx, reset.user_id, now);
    await sessionRevocationsRepository.revokeAll(trx, reset.user_id, now);
  });
}
