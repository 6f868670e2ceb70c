import { addToCartSchema, cartProductSchema, cartSchema } from '../../cart/cart.schemas.js';
import { addToCart, clearCart, decrementLine, getCart, incrementLine, removeFromCart } from '../../cart/cart.service.js';
import { userIdOf, type AppContext, type AppDeps } from '../context.js';
import { pathId, route, type RouteSpec } from '../route.js';

const cartOk = { description: 'The cart (count = sum of quantities)', schema: cartSchema };
const unauthenticated = { description: 'Not signed in (UNAUTHENTICATED)' };

export function cartRoutes({ db, config }: AppDeps): RouteSpec[] {
  const { currency } = config;
  // A cart is personal and changes often: never stored by a cache.
  const send = (ctx: AppContext, body: unknown) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  return [
    route({
      method: 'get',
      path: '/api/cart',
      summary: "The signed-in user's cart",
      tag: 'Cart',
      auth: true,
      responses: { 200: cartOk, 401: unauthenticated },
      async handler(ctx) {
        send(ctx, await getCart(db, userIdOf(ctx), currency));
      },
    }),
    route({
      method: 'post',
      path: '/api/cart',
      summary: 'Add a product (to its existing line); never above its stock',
      tag: 'Cart',
      auth: true,
      body: addToCartSchema,
      responses: {
        200: cartOk,
        400: { description: 'Invalid body (VALIDATION_FAILED)' },
        401: unauthenticated,
        404: { description: 'No such product (NOT_FOUND)' },
        409: { description: 'Not enough stock (OUT_OF_STOCK, details: product_id, requested, available = how many more fit); nothing changed' },
      },
      async handler(ctx, { body }) {
        send(ctx, await addToCart(db, userIdOf(ctx), body, currency));
      },
    }),
    route({
      method: 'post',
      path: '/api/cart/increment',
      summary: 'One more of a product already in the cart',
      tag: 'Cart',
      auth: true,
      body: cartProductSchema,
      responses: {
        200: cartOk,
        400: { description: 'Invalid body (VALIDATION_FAILED)' },
        401: unauthenticated,
        404: { description: 'The product is not in the cart (NOT_FOUND)' },
        409: { description: 'The line is already at the product stock (OUT_OF_STOCK); nothing changed' },
      },
      async handler(ctx, { body }) {
        send(ctx, await incrementLine(db, userIdOf(ctx), body, currency));
      },
    }),
    route({
      method: 'post',
      path: '/api/cart/decrement',
      summary: 'One fewer of a product; at quantity 1 the line is removed',
      tag: 'Cart',
      auth: true,
      body: cartProductSchema,
      responses: {
        200: cartOk,
        400: { description: 'Invalid body (VALIDATION_FAILED)' },
        401: unauthenticated,
        404: { description: 'The product is not in the cart (NOT_FOUND)' },
      },
      async handler(ctx, { body }) {
        send(ctx, await decrementLine(db, userIdOf(ctx), body, currency));
      },
    }),
    route({
      method: 'delete',
      path: '/api/cart/:productId',
      summary: "Remove a product's line",
      tag: 'Cart',
      auth: true,
      responses: {
        200: cartOk,
        401: unauthenticated,
        404: { description: 'The product is not in the cart (NOT_FOUND)' },
      },
      async handler(ctx) {
        const productId = pathId(ctx.params.productId, 'Product in your cart');
        send(ctx, await removeFromCart(db, userIdOf(ctx), productId, currency));
      },
    }),
    route({
      method: 'delete',
      path: '/api/cart',
      summary: 'Empty the cart',
      tag: 'Cart',
      auth: true,
      responses: { 200: { description: 'The empty cart', schema: cartSchema }, 401: unauthenticated },
      async handler(ctx) {
        send(ctx, await clearCart(db, userIdOf(ctx), currency));
      },
    }),
  ];
}
