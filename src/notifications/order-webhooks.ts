/** The shop's outgoing webhooks about an order event (docs/api.md, "Outgoing webhooks"). */
import type { Knex } from 'knex';
import { enqueue } from '../outbox/outbox.repository.js';
import { renderWebhookBody } from '../webhooks/webhook-event.js';
import { webhooksRepository } from '../webhooks/webhooks.repository.js';
import { isWebhookEvent } from '../webhooks/webhooks.schemas.js';
import type { OrderEvent, OrderSnapshot } from './order-events.js';

/**
 * Queues one delivery of `event` per active endpoint subscribed to it, in `trx` (the order
 * move's transaction). Events endpoints cannot subscribe to (order.placed, order.delivered)
 * queue nothing.
 */
export async function enqueueOrderWebhooks(trx: Knex.Transaction, event: OrderEvent, order: OrderSnapshot): Promise<void> {
  if (!isWebhookEvent(event)) return;
  const endpoints = await webhooksRepository.subscribedTo(trx, event);
  if (endpoints.length === 0) return;
  const body = renderWebhookBody(event, order);
  for (const endpoint of endpoints) {
    const endpointId = Number(endpoint.id);
    await enqueue(trx, {
      kind: 'webhook',
      topic: event,
      key: `order-${order.id}.${event.slice('order.'.length)}.endpoint-${endpointId}`,
      endpointId,
      url: endpoint.url,
      payload: { event, body },
    });
  }
}
