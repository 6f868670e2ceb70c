/**
 * What an outgoing webhook carries and how it is signed (docs/api.md, "Outgoing webhooks"). The
 * body is rendered once, when the event is queued, so every endpoint and every retry gets the
 * same bytes; the signature is made at each attempt, over that attempt's timestamp and the body.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { OrderSnapshot } from '../notifications/order-events.js';
import type { WebhookEvent } from './webhooks.schemas.js';

export interface WebhookEventBody {
  /** `evt_…`: one per event, the same for every endpoint and every retry. */
  id: string;
  type: WebhookEvent;
  /** When the event happened, in Unix seconds. */
  created: number;
  data: { order: OrderSnapshot };
}

/** The JSON text of `event` on `order`, as every endpoint receives it. */
export function renderWebhookBody(event: WebhookEvent, order: OrderSnapshot, at: Date = new Date()): string {
  const body: WebhookEventBody = { id: `evt_${randomBytes(12).toString('hex')}`, type: event, created: Math.floor(at.getTime() / 1000), data: { order } };
  return JSON.stringify(body);
}

/** The `Watchstore-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signatureHeader(secret: string, body: string, at: Date = new Date()): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}
