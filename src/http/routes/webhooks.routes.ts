import { webhookResultSchema } from '../../payments/payments.schemas.js';
import { handleStripeEvent, verifyWebhook } from '../../payments/webhooks.service.js';
import type { AppContext, AppDeps } from '../context.js';
import { HttpError } from '../http-error.js';
import { route, type RouteSpec } from '../route.js';

export const STRIPE_WEBHOOK_PATH = '/api/webhooks/stripe';

/** Stripe's events are small; this only stops a flood. */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

const tooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', 'The webhook body is larger than 1 MB.');

/**
 * The exact bytes of the request body (the JSON body parser skips this path): the signature is
 * over these bytes, and re-serialised JSON would not match it.
 */
async function rawBody(ctx: AppContext, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function webhookRoutes({ db, config, logger }: AppDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: STRIPE_WEBHOOK_PATH,
      summary: 'Stripe events (signed): payment succeeded, failed or canceled; each event is applied at most once',
      tag: 'Checkout',
      cookieSession: false,
      headers: [{ name: 'Stripe-Signature', description: "Stripe's signature of the raw body (STRIPE_WEBHOOK_SECRET)", required: true }],
      responses: {
        200: { description: 'Received (also for a repeated event, an unknown payment intent, or an event that changed nothing)', schema: webhookResultSchema },
        400: { description: 'Missing or invalid Stripe-Signature, or a signed body that is not a Stripe event (VALIDATION_FAILED); nothing changed' },
        413: { description: 'The body is larger than 1 MB (PAYLOAD_TOO_LARGE)' },
        503: { description: 'STRIPE_WEBHOOK_SECRET is not configured (PAYMENTS_UNAVAILABLE)' },
      },
      async handler(ctx) {
        if (!config.stripeWebhookSecret) await verifyWebhook(Buffer.alloc(0), undefined, undefined); // 503 before reading
        const body = await rawBody(ctx, WEBHOOK_BODY_LIMIT_BYTES);
        const event = await verifyWebhook(body, ctx.get('Stripe-Signature') || undefined, config.stripeWebhookSecret);
        const result = await handleStripeEvent(db, event);
        logger.info(
          {
            req_id: ctx.state.requestId,
            event_id: event.id,
            event_type: event.type,
            duplicate: !result.applied,
            order_id: result.orderId,
            outcome: result.outcome,
          },
          'stripe event',
        );
        ctx.body = { received: true };
      },
    }),
  ];
}
