/** The customer's e-mail about an order event (docs/data.md, "outbox"). */
import type { Knex } from 'knex';
import { enqueue } from '../outbox/outbox.repository.js';
import type { OrderEvent, OrderEventFacts, OrderSnapshot } from './order-events.js';

/** Queues the e-mail `event` sends the customer, when the order has an address to send it to. */
export async function enqueueOrderEmail(trx: Knex.Transaction, event: OrderEvent, order: OrderSnapshot, facts: OrderEventFacts): Promise<void> {
  if (!order.email) return;
  await enqueue(trx, {
    kind: 'email',
    topic: event,
    key: `order-${order.id}.${event.slice('order.'.length)}`,
    payload: { to: order.email, template: event, data: { order, ...facts } },
  });
}
