import type { Knex } from 'knex';

export const config = { transaction: false };

/**
 * stripe_events.outcome_kind: what happened to the event, as a value code can compare, beside
 * `outcome` (the sentence for people). The values are copied here, not imported: a migration
 * stays as it was written while the application's list may grow in later migrations.
 * NULL only inside the transaction that claims the event, before its outcome is recorded.
 */
const KINDS = ['applied', 'already_applied', 'wrong_state', 'mismatch', 'unmatched', 'not_handled', 'payment_failed', 'payment_incomplete'];

/** Rows recorded before this column existed, classified from their text (first match wins). */
const BACKFILL: Array<[kind: string, where: (q: Knex.QueryBuilder) => void]> = [
  ['applied', (q) => q.where('outcome', 'like', 'applied%')],
  ['already_applied', (q) => q.where('outcome', 'like', 'ignored: order already %')],
  [
    'wrong_state',
    (q) =>
      q.whereIn(
        'outcome',
        ['pending', 'paid', 'shipped', 'delivered', 'canceled'].map((s) => `ignored: order ${s}`),
      ),
  ],
  ['mismatch', (q) => q.where('outcome', 'like', 'ignored: amount mismatch%').orWhere('outcome', 'like', 'ignored: currency mismatch%')],
  ['payment_failed', (q) => q.where('outcome', 'like', 'ignored: payment failed%')],
  ['not_handled', (q) => q.where('outcome', 'like', 'ignored: event type %').orWhere('outcome', 'like', 'ignored: the event carries no payment intent%')],
  // Unknown intent, another order's intent, metadata that does not match: and anything else,
  // so that reconcile keeps listing it for a person to look at, as it did.
  ['unmatched', () => {}],
];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('stripe_events', (t) => {
    t.enu('outcome_kind', KINDS).nullable();
  });
  await knex.transaction(async (trx) => {
    for (const [kind, where] of BACKFILL) {
      await trx('stripe_events')
        .whereNull('outcome_kind')
        .where((q) => where(q))
        .update({ outcome_kind: kind });
    }
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('stripe_events', (t) => {
    t.dropColumn('outcome_kind');
  });
}
