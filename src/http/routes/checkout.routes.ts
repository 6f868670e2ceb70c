import { z } from 'zod';
import { checkoutBodySchema, checkoutResultSchema, hostedCheckoutResultSchema } from '../../payments/payments.schemas.js';
import { checkout, hostedCheckout } from '../../payments/payments.service.js';
import type { AppDeps } from '../context.js';
import { route, type RouteSpec } from '../route.js';

export function checkoutRoutes({ db, config }: AppDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/api/checkout',
      summary: "Pay a pending order (or the cart, made into an order first) with a Stripe PaymentIntent, or on Stripe's hosted Checkout page (mode hosted)",
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
          description:
            "mode payment_intent: the order's PaymentIntent (the same one on every checkout of the order), amount = the order's total (lines + shipping) from the database. mode hosted: `{order_id, checkout_session_id, url}` of the order's Checkout Session (the same one while it is open)",
          schema: z.union([checkoutResultSchema, hostedCheckoutResultSchema]),
        },
        400: { description: 'Invalid body, or an empty cart with `{}` (VALIDATION_FAILED, EMPTY_CART)' },
        401: { description: 'Not signed in (UNAUTHENTICATED)' },
        404: { description: "No such order of the caller's (NOT_FOUND)" },
        409: {
          description:
            'The order is not pending, or is already being paid the other way (ORDER_NOT_PAYABLE); without order_id: OUT_OF_STOCK, IDEMPOTENCY_KEY_REUSED',
        },
        502: { description: 'Stripe answered with an error (PAYMENT_PROVIDER_ERROR); the order is unchanged' },
        503: { description: 'Payments are not configured (PAYMENTS_UNAVAILABLE)' },
      },
      async handler(ctx, { body }) {
        const key = ctx.get('Idempotency-Key');
        ctx.set('Cache-Control', 'no-store');
        const input = {
          userId: ctx.state.user!.id,
          orderId: body.order_id,
          idempotencyKey: key === '' ? undefined : key,
          shippingAddress: body.shipping_address,
        };
        ctx.body = body.mode === 'hosted' ? await hostedCheckout(db, config, input) : await checkout(db, config, input);
      },
    }),
  ];
}
