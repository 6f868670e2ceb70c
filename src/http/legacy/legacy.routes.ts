/**
 * The compatibility adapter (docs/legacy.md): the old Express backend's routes and answer shapes,
 * under LEGACY_API_PREFIX, over watchstore's own services. Nothing here decides a rule: stock
 * caps, one line per product, prices from the database, password and username rules, rate
 * limits and sessions are the services' and middleware's, exactly as for /api. The adapter only
 * renames fields and answers in the old shapes and status codes (legacy-session.ts).
 *
 * Declared as data like every other route, so OpenAPI documents them (tag Legacy).
 */
import { z } from 'zod';
import { logout, signin, signup } from '../../auth/auth.service.js';
import { sessionIdOf } from '../../auth/session-token.js';
import { SessionRevocations } from '../../auth/session-revocations.js';
import { addToCart, cartLineIds, clearCart, decrementKeepingLine, getCart, incrementLine, removeFromCart } from '../../cart/cart.service.js';
import { isAppError } from '../../errors.js';
import { hostedCheckout } from '../../payments/payments.service.js';
import { getProductById, searchProducts } from '../../products/products.service.js';
import type { PublicProduct } from '../../products/products.schemas.js';
import { currentUser } from '../../auth/auth.service.js';
import { userIdOf, type AppContext, type AppDeps } from '../context.js';
import { ACCESS_COOKIE } from '../middleware/auth.js';
import { clearAuthCookies, refreshTokenOf, setAuthCookies } from '../middleware/cookies.js';
import { createRateLimits } from '../middleware/rate-limit.js';
import { route, type ResponseSpec, type RouteSpec } from '../route.js';
import type { DocumentedPath } from '../openapi.js';
import { legacyErrors, legacyUser } from './legacy-session.js';
import {
  errorsSchema,
  legacyCartLineSchema,
  legacyCheckoutSchema,
  legacyLoginSchema,
  legacyProductBodySchema,
  legacyProductSchema,
  legacySignupSchema,
  messageSchema,
  textSchema,
} from './legacy.schemas.js';

export const LEGACY_TAG = 'Legacy';

const PAGE = 100;

const text = (description: string): ResponseSpec => ({ description, schema: textSchema, contentType: 'text/plain' });
const message = (description: string): ResponseSpec => ({ description, schema: messageSchema });
const UNAUTHORIZED = text('Not signed in, and no refresh cookie that renews the session: text `Unauthorized`');

/** A product in the old shape: price in major units, image_url relative (`images/<file>`). */
function legacyProduct(p: PublicProduct) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    price: p.price,
    stock: p.stock,
    image_url: p.image_url ? p.image_url.replace(/^\/+/, '') : null,
    created_at: p.created_at,
  };
}

function sendText(ctx: AppContext, body: string, status = 200) {
  ctx.status = status;
  ctx.type = 'text/plain';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

function sendJson(ctx: AppContext, body: unknown, status = 200) {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

/** The images the old frontends load from `<base>/images/<file>` (served by middleware/images.ts). */
export function legacyImagesPath(prefix: string): DocumentedPath {
  return {
    method: 'get',
    path: `${prefix}/images/:file`,
    summary: 'A product image under the adapter prefix (the same files and cache headers as /images/:file)',
    tag: LEGACY_TAG,
    responses: {
      200: { description: 'The image', contentType: 'image/svg+xml' },
      304: { description: 'Not modified' },
      404: { description: 'No such image (NOT_FOUND)' },
    },
  };
}

export function legacyRoutes(deps: AppDeps, prefix: string): RouteSpec[] {
  const { db, config } = deps;
  const { currency } = config;
  const limits = deps.rateLimits ?? createRateLimits({ ...config, redisUrl: undefined });
  const p = (path: string) => `${prefix}${path}`;
  const asText = legacyErrors('text');
  const asMessage = legacyErrors('message');
  const authenticate = legacyUser(db, config, prefix, deps.sessionRevocations ?? new SessionRevocations(db));
  const cartRoute = <B extends z.ZodType = z.ZodType>(spec: Omit<RouteSpec<B>, 'tag' | 'auth' | 'authenticate'>) =>
    route<B>({ ...spec, tag: LEGACY_TAG, auth: true, authenticate, before: [asText, ...(spec.before ?? [])] });

  return [
    route({
      method: 'get',
      path: p('/api/fetch/products'),
      summary: 'Every product as a bare array (an Authorization header, the old static key, is ignored: the catalog is public)',
      tag: LEGACY_TAG,
      before: [asMessage],
      responses: { 200: { description: 'Every product, oldest first', schema: z.array(legacyProductSchema) } },
      async handler(ctx) {
        const all: PublicProduct[] = [];
        for (let offset = 0; ; offset += PAGE) {
          const page = await searchProducts(db, { sort: 'newest', limit: PAGE, offset }, currency);
          all.push(...page.items);
          if (page.items.length < PAGE || all.length >= page.total) break;
        }
        all.sort((a, b) => a.id - b.id);
        sendJson(ctx, all.map(legacyProduct));
      },
    }),
    route({
      method: 'get',
      path: p('/api/fetch/user'),
      summary: 'Whether the browser is signed in (the session is renewed from the refresh cookie when the access token has expired)',
      tag: LEGACY_TAG,
      auth: true,
      authenticate,
      before: [asText],
      responses: {
        200: {
          description: '`{loggedIn: true, user: {id, username}}`',
          schema: z.object({ loggedIn: z.literal(true), user: z.object({ id: z.number(), username: z.string() }) }),
        },
        401: UNAUTHORIZED,
      },
      async handler(ctx) {
        const user = await currentUser(db, userIdOf(ctx));
        sendJson(ctx, { loggedIn: true, user: { id: user.id, username: user.username } });
      },
    }),
    route({
      method: 'post',
      path: p('/api/auth/signup'),
      summary: 'Create a customer account without an e-mail (add one later with PATCH /api/auth/me) and sign in',
      tag: LEGACY_TAG,
      body: legacySignupSchema,
      before: [asMessage, ...limits.signup],
      responses: {
        201: message('Signed up; session cookies set (the refresh cookie for the adapter prefix)'),
        400: {
          description: '`{errors: [{field, message}]}` for invalid input, `{message}` for a taken username',
          schema: z.union([errorsSchema, messageSchema]),
        },
        429: message('Too many sign-ups from this address (the same limit as POST /api/auth/signup), with Retry-After'),
      },
      async handler(ctx, { body }) {
        const session = await signup(db, { username: body.username, password: body.password, email: null }, config);
        setAuthCookies(ctx, config, session, prefix);
        sendJson(ctx, { message: 'User created successfully' }, 201);
      },
    }),
    route({
      method: 'post',
      path: p('/api/auth/login'),
      summary: 'Sign in with a username (or e-mail) and password',
      tag: LEGACY_TAG,
      body: legacyLoginSchema,
      before: [asMessage, ...limits.signin],
      responses: {
        200: { description: '`{id, username}`; session cookies set', schema: z.object({ id: z.number(), username: z.string() }) },
        400: { description: 'A field is missing: `{errors: [{field, message}]}`', schema: errorsSchema },
        401: message('Invalid username or password (one message for both)'),
        429: message('Too many attempts (the same limits as POST /api/auth/signin), with Retry-After'),
      },
      async handler(ctx, { body }) {
        const session = await signin(db, { login: body.username, password: body.password }, config);
        setAuthCookies(ctx, config, session, prefix);
        sendJson(ctx, { id: session.user.id, username: session.user.username });
      },
    }),
    route({
      method: 'post',
      path: p('/api/logout'),
      summary: 'Sign out: the session is revoked and both cookies cleared (also when already signed out)',
      tag: LEGACY_TAG,
      before: [asMessage],
      responses: { 200: { description: '`{loggedIn: false}`', schema: z.object({ loggedIn: z.literal(false) }) } },
      async handler(ctx) {
        const access = ctx.cookies.get(ACCESS_COOKIE);
        const sessionId = access ? sessionIdOf(access, config.accessTokenSecret) : undefined;
        await logout(db, { refreshToken: refreshTokenOf(ctx), sessionId });
        clearAuthCookies(ctx, config, prefix);
        sendJson(ctx, { loggedIn: false });
      },
    }),
    cartRoute({
      method: 'get',
      path: p('/api/cart'),
      summary: 'The cart as a bare array of lines with their products',
      responses: { 200: { description: 'The lines, `[]` when empty', schema: z.array(legacyCartLineSchema) }, 401: UNAUTHORIZED },
      async handler(ctx) {
        const userId = userIdOf(ctx);
        const [cart, ids] = await Promise.all([getCart(db, userId, currency), cartLineIds(db, userId)]);
        const lines = [];
        for (const item of cart.items) {
          const product = await getProductById(db, item.product_id, currency);
          lines.push({
            id: ids.get(item.product_id) ?? 0,
            user_id: userId,
            product_id: item.product_id,
            quantity: item.quantity,
            product: legacyProduct(product),
          });
        }
        sendJson(ctx, lines);
      },
    }),
    cartRoute({
      method: 'get',
      path: p('/api/cart/count'),
      summary: 'How many lines the cart has (not units)',
      responses: { 200: { description: '`{count}`', schema: z.object({ count: z.number().int() }) }, 401: UNAUTHORIZED },
      async handler(ctx) {
        const cart = await getCart(db, userIdOf(ctx), currency);
        sendJson(ctx, { count: cart.items.length });
      },
    }),
    cartRoute({
      method: 'post',
      path: p('/api/add-to-cart'),
      summary: "One more of a product: to its line, or a new line; never above the product's stock",
      body: legacyProductBodySchema,
      responses: {
        200: { description: '`{success: true}`', schema: z.object({ success: z.literal(true) }) },
        400: text('Invalid productId, or the line is already at the stock'),
        401: UNAUTHORIZED,
        404: text('No such product'),
      },
      async handler(ctx, { body }) {
        await addToCart(db, userIdOf(ctx), { product_id: body.productId, quantity: 1 }, currency);
        sendJson(ctx, { success: true });
      },
    }),
    cartRoute({
      method: 'post',
      path: p('/api/cart/increment'),
      summary: 'One more of a product already in the cart',
      body: legacyProductBodySchema,
      responses: {
        200: text('Done'),
        400: text('Invalid productId, or the line is already at the stock'),
        401: UNAUTHORIZED,
        404: text('The product or its line is missing'),
      },
      async handler(ctx, { body }) {
        await incrementLine(db, userIdOf(ctx), { product_id: body.productId }, currency);
        sendText(ctx, 'Quantity increased');
      },
    }),
    cartRoute({
      method: 'post',
      path: p('/api/cart/decrement'),
      summary: 'One fewer of a product; a line at 1 stays (400)',
      body: legacyProductBodySchema,
      responses: {
        200: text('Done'),
        400: text('Invalid productId, or the line is at quantity 1 (it is not removed)'),
        401: UNAUTHORIZED,
        404: text('No such line'),
      },
      async handler(ctx, { body }) {
        await decrementKeepingLine(db, userIdOf(ctx), { product_id: body.productId }, currency);
        sendText(ctx, 'Quantity decreased');
      },
    }),
    cartRoute({
      method: 'delete',
      path: p('/api/cart/:productId'),
      summary: "Remove a product's line (200 also when there was none)",
      responses: { 200: text('Removed'), 400: text('productId is not a product id'), 401: UNAUTHORIZED },
      async handler(ctx) {
        const raw = ctx.params.productId;
        const productId = raw && /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : Number.NaN;
        const parsed = legacyProductBodySchema.safeParse({ productId });
        if (!parsed.success) return sendText(ctx, 'Invalid product id', 400);
        try {
          await removeFromCart(db, userIdOf(ctx), parsed.data.productId, currency);
        } catch (err) {
          if (!(isAppError(err) && err.code === 'NOT_FOUND')) throw err;
        }
        sendText(ctx, 'Item removed from cart');
      },
    }),
    cartRoute({
      method: 'delete',
      path: p('/api/cart'),
      summary: 'Empty the cart',
      responses: { 200: text('`Cart cleared`'), 401: UNAUTHORIZED },
      async handler(ctx) {
        await clearCart(db, userIdOf(ctx), currency);
        sendText(ctx, 'Cart cleared');
      },
    }),
    route({
      method: 'post',
      path: p('/api/checkout'),
      summary: "Pay the server-side cart on Stripe's hosted Checkout page (the lines and prices sent are ignored)",
      tag: LEGACY_TAG,
      auth: true,
      authenticate,
      body: legacyCheckoutSchema,
      before: [asMessage],
      responses: {
        200: { description: '`{sessionId}` of the Checkout Session, for Stripe.js redirectToCheckout', schema: z.object({ sessionId: z.string() }) },
        400: message('The cart is empty, or a line is beyond the stock'),
        401: message('Not signed in'),
        502: message('Stripe answered with an error; the order stays pending'),
        503: message('Payments are not configured'),
      },
      async handler(ctx) {
        const result = await hostedCheckout(db, config, { userId: userIdOf(ctx) });
        sendJson(ctx, { sessionId: result.checkout_session_id });
      },
    }),
  ];
}
