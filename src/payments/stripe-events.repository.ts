/** SQL for `stripe_events`: the record of every Stripe event received, keyed by Stripe's event id. */
import type { Knex } from 'knex';
import { fromDbTime } from '../db/values.js';
import { isUniqueViolation } from '../db/errors.js';
import type { OutcomeKind, StripeEventRecord } from './payments.schemas.js';

type Runner = Knex | Knex.Transaction;

interface Row {
  id: string;
  type: string;
  payment_intent_id: string | null;
  order_id: number | string | null;
  received_at: string | Date;
  outcome: string;
}

const OUTCOME_MAX = 255;

function toRecord(r: Row): StripeEventRecord {
  return {
    id: r.id,
    type: r.type,
    payment_intent_id: r.payment_intent_id,
    order_id: r.order_id === null ? null : Number(r.order_id),
    received_at: fromDbTime(r.received_at) ?? String(r.received_at),
    outcome: r.outcome,
  };
}

/**
 * Claims an event id: inserts its row, or returns false when the id is already there (the
 * primary key decides, also between concurrent deliveries: a second insert waits for the first
 * transaction and then fails on the key).
 */
export async function claimEvent(trx: Runner, row: { id: string; type: string; payment_intent_id: string | null }): Promise<boolean> {
  try {
    // outcome_kind stays NULL until recordOutcome, in the same transaction.
    await trx('stripe_events').insert({ ...row, outcome: 'processing' });
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

export async function recordOutcome(trx: Runner, id: string, outcome: { order_id: number | null; outcome: string; kind: OutcomeKind }): Promise<void> {
  await trx('stripe_events')
    .where({ id })
    .update({ order_id: outcome.order_id, outcome: outcome.outcome.slice(0, OUTCOME_MAX), outcome_kind: outcome.kind });
}

export interface EventFilter {
  /** Events whose outcome is none of these kinds. */
  excludeKinds?: readonly OutcomeKind[];
  paymentIntentId?: string;
}

function filtered(db: Runner, f: EventFilter) {
  const q = db('stripe_events');
  if (f.excludeKinds) q.whereNotIn('outcome_kind', f.excludeKinds as OutcomeKind[]);
  if (f.paymentIntentId) q.where({ payment_intent_id: f.paymentIntentId });
  return q;
}

/** Newest first. */
export async function listEvents(db: Runner, f: EventFilter & { limit?: number } = {}): Promise<StripeEventRecord[]> {
  const q = filtered(db, f)
    .select('*')
    .orderBy([
      { column: 'received_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
  if (f.limit) q.limit(f.limit);
  return ((await q) as Row[]).map(toRecord);
}

export async function countEvents(db: Runner, f: EventFilter = {}): Promise<number> {
  const row = (await filtered(db, f).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
