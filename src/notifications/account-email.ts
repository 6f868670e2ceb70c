/** The notice an account's e-mail change sends (docs/data.md, "E-mails"). */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { EmailChangedData } from '../mail/account-emails.js';
import { enqueue } from '../outbox/outbox.repository.js';

/**
 * Queues the security notice about an e-mail change, in the change's transaction, to the old
 * address (none when the account had none). The new address is not written to: nothing has
 * proved it belongs to the one who typed it, so a notice there would let anyone make the shop
 * mail a stranger (with a username of their choosing in it); its owner hears from the shop with
 * the next order anyway.
 */
export async function enqueueEmailChanged(
  trx: Knex.Transaction,
  change: { userId: number; username: string; oldEmail: string | null; newEmail: string; at: Date },
): Promise<void> {
  if (!change.oldEmail || change.oldEmail === change.newEmail) return;
  const data: EmailChangedData = { username: change.username, old_email: change.oldEmail, new_email: change.newEmail, changed_at: change.at.toISOString() };
  await enqueue(trx, {
    kind: 'email',
    topic: 'account.email_changed',
    // One message per change (a user may change it again); random, as nothing else names a change.
    key: `user-${change.userId}.email_changed.${randomBytes(6).toString('hex')}`,
    payload: { to: change.oldEmail, template: 'account.email_changed', data: { ...data } },
  });
}
