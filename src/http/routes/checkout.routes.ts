import { checkoutBodySchema, checkoutResultSchema } from '../../payments/payments.schemas.js';
import { checkout } from '../../payments/payments.service.js';
import type { AppDeps } from '../context.js';
import { route, type RouteSpec } from '../route.js';

export function checkoutRoutes({ db, config }: AppDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/api/checkout',
      summary: 'Pay a pending order (or the cart, made into an order first) with a Stripe PaymentIntent',
      tag: 'Checkout',
      auth: true,
      body: checkoutBodySchema,
      headers: [
        {
          name: 'Idempotency-Key',
          description: 'With `{}`: the same key returns the order made by the first request instead of a second one (1–100 characters)',
        },
      ],
      responses: {
        200: {
          description: "The order's PaymentIntent (the same one on every checkout of the order); amount is the order's total from the database",
          schema: checkoutResultSchema,
        },
        400: { description: 'Invalid body, or an empty cart with `{}` (VALIDATION_FAILED, EMPTY_CART)' },
        401: { description: 'Not signed in (UNAUTHENTICATED)' },
        404: { description: "No such order of the caller's (NOT_FOUND)" },
        409: { description: 'The order is not pending (ORDER_NOT_PAYABLE); with `{}`: OUT_OF_STOCK, IDEMPOTENCY_KEY_REUSED' },
        502: { description: 'Stripe answered with an error (PAYMENT_PROVIDER_ERROR); the order is unchanged' },
        503: { description: 'Payments are not configured (PAYMENTS_UNAVAILABLE)' },
      },
      async handler(ctx, { body }) {
        const key = ctx.get('Idempotency-Key');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await checkout(db, config, {
          userId: ctx.state.user!.id,
          orderId: body.order_id,
          idempotencyKey: key === '' ? undefined : key,
        });
      },
    }),
  ];
}
