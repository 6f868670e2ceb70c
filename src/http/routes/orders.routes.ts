import { httpOrderSchema, orderListSchema, orderQuerySchema } from '../../orders/orders.schemas.js';
import { createOrderFromCart, getOrder, listOrders, toHttpOrder } from '../../orders/orders.service.js';
import { cancelPendingOrder } from '../../payments/cancel.service.js';
import { userIdOf, type AppContext, type AppDeps } from '../context.js';
import { pathId, route, type RouteSpec } from '../route.js';

/** The order id in the path: a plain positive integer, else 404 (docs/api.md). */
const orderIdOf = (ctx: AppContext): number => pathId(ctx.params.id, 'Order');

export function ordersRoutes({ db, config, logger }: AppDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/api/orders',
      summary: 'Turn the whole cart into an order (prices from the catalog, stock taken, cart emptied)',
      tag: 'Orders',
      auth: true,
      headers: [
        {
          name: 'Idempotency-Key',
          description: '1 to 100 characters. The same key from the same user returns the first order (200) and changes nothing.',
        },
      ],
      responses: {
        200: { description: 'The order first made with this Idempotency-Key', schema: httpOrderSchema },
        201: { description: 'The new pending order', schema: httpOrderSchema },
        400: { description: 'EMPTY_CART, or VALIDATION_FAILED for a bad Idempotency-Key' },
        401: { description: 'UNAUTHENTICATED' },
        409: { description: 'OUT_OF_STOCK (details: [{product_id, requested, available}]) or IDEMPOTENCY_KEY_REUSED' },
      },
      async handler(ctx) {
        // Anything in the body (prices, totals, user ids) is ignored: the order comes from the
        // caller's cart and the catalog only.
        // Absent stays undefined, empty stays '' (refused); Node joins a repeated header with ', '.
        const idempotencyKey = ctx.headers['idempotency-key'] as string | undefined;
        const { order, created } = await createOrderFromCart(db, userIdOf(ctx), { idempotencyKey, currency: config.currency, shipping: config.shipping });
        if (!created) ctx.set('Idempotent-Replayed', 'true');
        ctx.status = created ? 201 : 200;
        ctx.body = toHttpOrder(order);
      },
    }),

    route({
      method: 'get',
      path: '/api/orders',
      summary: "The caller's orders, newest first",
      tag: 'Orders',
      auth: true,
      query: orderQuerySchema,
      responses: {
        200: { description: 'A page of orders', schema: orderListSchema },
        400: { description: 'VALIDATION_FAILED' },
        401: { description: 'UNAUTHENTICATED' },
      },
      async handler(ctx, { query }) {
        const { items, total } = await listOrders(db, { userId: userIdOf(ctx), status: query.status, limit: query.limit, offset: query.offset });
        ctx.body = { items: items.map(toHttpOrder), total, limit: query.limit, offset: query.offset };
      },
    }),

    route({
      method: 'get',
      path: '/api/orders/:id',
      summary: 'One of the caller’s orders',
      tag: 'Orders',
      auth: true,
      responses: {
        200: { description: 'The order', schema: httpOrderSchema },
        401: { description: 'UNAUTHENTICATED' },
        404: { description: "NOT_FOUND (also for another user's order)" },
      },
      async handler(ctx) {
        ctx.body = toHttpOrder(await getOrder(db, orderIdOf(ctx), { userId: userIdOf(ctx) }));
      },
    }),

    route({
      method: 'post',
      path: '/api/orders/:id/cancel',
      summary: 'Cancel a pending order; its stock comes back (its PaymentIntent, if any, is canceled at Stripe first)',
      tag: 'Orders',
      auth: true,
      responses: {
        200: { description: 'The canceled order', schema: httpOrderSchema },
        401: { description: 'UNAUTHENTICATED' },
        404: { description: "NOT_FOUND (also for another user's order)" },
        409: {
          description: 'INVALID_TRANSITION: the order is no longer pending, or Stripe says its payment went through (the order is then paid) or is processing',
        },
      },
      async handler(ctx) {
        const result = await cancelPendingOrder(db, config, { orderId: orderIdOf(ctx), userId: userIdOf(ctx) });
        if (result.stripe === 'unconfirmed') {
          logger.warn(
            { req_id: ctx.state.requestId, order_id: result.order.id, payment_intent_id: result.order.payment_intent_id, reason: result.reason },
            'order canceled, but its PaymentIntent could not be canceled at Stripe; `watchstore orders reconcile` will follow it up',
          );
        }
        ctx.body = toHttpOrder(result.order);
      },
    }),
  ];
}
