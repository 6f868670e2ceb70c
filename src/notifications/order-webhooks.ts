/** The shop's outgoing webhooks about an order event (docs/api.md, "Outgoing webhooks"). */
import type { Knex } from 'knex';
import type { OrderEvent, OrderSnapshot } from './order-events.js';

/** Queues one delivery of `event` per endpoint subscribed to it. */
export async function enqueueOrderWebhooks(_trx: Knex.Transaction, _event: OrderEvent, _order: OrderSnapshot): Promise<void> {
  // Outgoing webhooks are built in src/webhooks/ (issue 13); nothing is queued until then.
}
