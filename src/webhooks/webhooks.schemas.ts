/**
 * Outgoing webhooks (docs/api.md, "Outgoing webhooks"): the endpoints an admin registers, the
 * events they may subscribe to, and the delivery log, shared by the admin API and the CLI.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { apiPagingShape, booleanParam, listEnvelopeSchema } from '../schemas.js';
import { queryParam } from '../validation.js';

/** The order events an endpoint can subscribe to, in the order of an order's life. */
export const WEBHOOK_EVENTS = ['order.paid', 'order.shipped', 'order.canceled', 'order.refunded'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function isWebhookEvent(event: string): event is WebhookEvent {
  return (WEBHOOK_EVENTS as readonly string[]).includes(event);
}

/**
 * Addresses no shop system lives at: link-local (where clouds serve instance metadata and
 * credentials, 169.254.169.254) and the unspecified address. Loopback and private networks stay
 * allowed: the shop's fulfilment and accounting systems are often there. Only the URL as written
 * is checked, not what a host name resolves to (admins are trusted; docs/api.md says so).
 */
const REFUSED_ADDRESSES = new BlockList();
REFUSED_ADDRESSES.addSubnet('169.254.0.0', 16, 'ipv4');
REFUSED_ADDRESSES.addSubnet('fe80::', 10, 'ipv6');
REFUSED_ADDRESSES.addSubnet('0.0.0.0', 8, 'ipv4');
REFUSED_ADDRESSES.addAddress('::', 'ipv6');

const URL_EXAMPLE = 'https://erp.example.com/hooks/watchstore';

/** An endpoint's URL: http or https, no credentials or fragment, not a link-local address; stored as parsed (`URL.href`). */
export const webhookUrlSchema = z
  .string({ message: `must be a URL such as ${URL_EXAMPLE}` })
  .trim()
  .max(2000, { message: 'must be at most 2000 characters' })
  .transform((raw, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', input: raw, message });
      return z.NEVER;
    };
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return fail(`must be a URL such as ${URL_EXAMPLE}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail('must start with http:// or https://');
    if (u.username || u.password) return fail('must not hold a user name or password (the signature authenticates the store)');
    if (u.hash) return fail('must not have a #fragment');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const family = isIP(host);
    if (family !== 0 && REFUSED_ADDRESSES.check(host, family === 6 ? 'ipv6' : 'ipv4')) {
      return fail('must not point at a link-local or unspecified address (such as 169.254.169.254)');
    }
    if (u.href.length > 2000) return fail('must be at most 2000 characters');
    return u.href;
  });

const eventSchema = z.enum(WEBHOOK_EVENTS, { message: `must be one of ${WEBHOOK_EVENTS.join(', ')}` });

/** The events subscribed to: at least one, each once, in the canonical order; all of them by default. */
export const webhookEventsSchema = z
  .array(eventSchema, { message: `must be a list of events (${WEBHOOK_EVENTS.join(', ')})` })
  .min(1, { message: 'must name at least one event' })
  .max(WEBHOOK_EVENTS.length * 4, { message: 'names too many events' })
  .transform((events) => WEBHOOK_EVENTS.filter((e) => events.includes(e)));

/** POST /api/admin/webhooks and `webhooks add`. */
export const newWebhookEndpointSchema = z
  .object({
    url: webhookUrlSchema,
    events: webhookEventsSchema.optional(),
    description: z.string().trim().max(200, { message: 'must be at most 200 characters' }).optional(),
  })
  .strict();

export const webhookEndpointSchema = z.object({
  id: z.number().int(),
  url: z.string(),
  events: z.array(eventSchema),
  description: z.string().nullable(),
  created_at: z.string(),
  /** Set once removed: nothing new is queued for it, its delivery log stays readable. */
  removed_at: z.string().nullable(),
});
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;

/** The answer to a creation: the only time the HTTP API shows the signing secret. */
export const createdWebhookEndpointSchema = webhookEndpointSchema.extend({
  secret: z.string().describe('The signing secret (whsec_…): shown once, keep it where the receiver can read it'),
});
export type CreatedWebhookEndpoint = z.infer<typeof createdWebhookEndpointSchema>;

export const webhookEndpointListSchema = listEnvelopeSchema(webhookEndpointSchema);

/** GET /api/admin/webhooks: active endpoints, removed ones too with `removed=true`. */
export const webhookEndpointQuerySchema = z.object({
  removed: queryParam(booleanParam.optional()),
  ...apiPagingShape,
});
export type WebhookEndpointQuery = z.output<typeof webhookEndpointQuerySchema>;

/** One attempt to deliver one message to one endpoint. */
export const webhookDeliverySchema = z.object({
  id: z.number().int(),
  endpoint_id: z.number().int(),
  outbox_id: z.number().int(),
  /** The Watchstore-Delivery header: the same on every attempt of one message. */
  delivery_id: z.string(),
  event: z.string(),
  attempt: z.number().int(),
  /** The receiver's HTTP status; null when no answer came (refused, timed out, endpoint removed). */
  status_code: z.number().int().nullable(),
  ok: z.boolean(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
  created_at: z.string(),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export const webhookDeliveryListSchema = listEnvelopeSchema(webhookDeliverySchema);

export const webhookDeliveryQuerySchema = z.object({ ...apiPagingShape });
export type WebhookDeliveryQuery = z.output<typeof webhookDeliveryQuerySchema>;
