/**
 * The admin API (docs/api.md, "Admin API"): the shop run over HTTP, through the same services as
 * the CLI. Each route names the permission it needs (auth/permissions.ts); the role is read from
 * the database at each request. Every change writes its audit row in the change's transaction.
 * Outgoing webhook endpoints are managed here too (admin only).
 */
import { auditEntrySchema, auditQuerySchema } from '../../audit/audit.schemas.js';
import { listAudit } from '../../audit/audit.service.js';
import { userActor } from '../../auth/permissions.js';
import { adminOrderDetailSchema, adminOrderListSchema, adminOrderQuerySchema, shipSchema } from '../../orders/admin-orders.schemas.js';
import { adminCancelOrder, adminDeliverOrder, adminGetOrder, adminListOrders, adminShipOrder } from '../../orders/admin-orders.service.js';
import {
  adminNewProductSchema,
  adminProductListSchema,
  adminProductPatchSchema,
  adminProductQuerySchema,
  adminProductSchema,
  stockAdjustSchema,
} from '../../products/admin-products.schemas.js';
import {
  adminAdjustStock,
  adminCreateProduct,
  adminDeleteProduct,
  adminGetProduct,
  adminListProducts,
  adminSetProductImage,
  adminUpdateProduct,
} from '../../products/admin-products.service.js';
import { MAX_IMAGE_BYTES, MAX_IMAGE_WIDTH } from '../../products/product-image.js';
import { refundBodySchema, refundSchema } from '../../payments/refunds.schemas.js';
import { refundOrder } from '../../payments/refunds.service.js';
import { listEnvelopeSchema } from '../../schemas.js';
import { z } from 'zod';
import { adminUserListSchema, adminUserPatchSchema, adminUserQuerySchema, adminUserSchema } from '../../users/admin-users.schemas.js';
import { adminGetUser, adminListUsers, adminUpdateUser } from '../../users/admin-users.service.js';
import {
  createdWebhookEndpointSchema,
  newWebhookEndpointSchema,
  webhookDeliveryListSchema,
  webhookDeliveryQuerySchema,
  webhookEndpointListSchema,
  webhookEndpointQuerySchema,
  webhookEndpointSchema,
} from '../../webhooks/webhooks.schemas.js';
import { createWebhookEndpoint, listWebhookDeliveries, listWebhookEndpoints, removeWebhookEndpoint } from '../../webhooks/webhooks.service.js';
import type { AppContext, AppDeps } from '../context.js';
import { pathId, route, type RouteSpec } from '../route.js';

const refundResultSchema = z.object({ refund: refundSchema, order: adminOrderDetailSchema });
const actorOf = (ctx: AppContext) => userActor(ctx.state.user!.id, ctx.state.requestId);
const TAG = 'Admin';
const NOT_FOUND = (what: string) => ({ description: `NOT_FOUND: no such ${what}, or the id is not a positive integer` });
const CONFLICT_MOVE = { description: 'INVALID_TRANSITION: the order state machine does not allow this move from the order’s state' };

export function adminRoutes({ db, config, logger }: AppDeps): RouteSpec[] {
  const currency = config.currency;
  const productId = (ctx: AppContext) => pathId(ctx.params.id, 'Product');
  const orderId = (ctx: AppContext) => pathId(ctx.params.id, 'Order');
  const userId = (ctx: AppContext) => pathId(ctx.params.id, 'User');
  const webhookId = (ctx: AppContext) => pathId(ctx.params.id, 'Webhook endpoint');
  return [
    /* Products ------------------------------------------------------------------------------ */
    route({
      method: 'get',
      path: '/api/admin/products',
      summary: 'Products, archived ones too: the catalog’s filters plus low_stock (stock at or below) and archived',
      tag: TAG,
      permission: 'catalog:read',
      query: adminProductQuerySchema,
      responses: { 200: { description: 'A page of products', schema: adminProductListSchema } },
      async handler(ctx, { query }) {
        ctx.body = await adminListProducts(db, query, currency);
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/products',
      summary: 'Create a product (price as "199.99" or price_cents)',
      tag: TAG,
      permission: 'catalog:write',
      body: adminNewProductSchema,
      responses: { 201: { description: 'The new product', schema: adminProductSchema } },
      async handler(ctx, { body }) {
        ctx.status = 201;
        ctx.body = await adminCreateProduct(db, actorOf(ctx), body, currency);
      },
    }),
    route({
      method: 'get',
      path: '/api/admin/products/:id',
      summary: 'One product, archived or not',
      tag: TAG,
      permission: 'catalog:read',
      responses: { 200: { description: 'The product', schema: adminProductSchema }, 404: NOT_FOUND('product') },
      async handler(ctx) {
        ctx.body = await adminGetProduct(db, productId(ctx), currency);
      },
    }),
    route({
      method: 'patch',
      path: '/api/admin/products/:id',
      summary: 'Change some of a product’s fields (name, description, image_url, price or price_cents, archived)',
      tag: TAG,
      permission: 'catalog:write',
      body: adminProductPatchSchema,
      responses: { 200: { description: 'The product as changed', schema: adminProductSchema }, 404: NOT_FOUND('product') },
      async handler(ctx, { body }) {
        ctx.body = await adminUpdateProduct(db, actorOf(ctx), productId(ctx), body, currency);
      },
    }),
    route({
      method: 'delete',
      path: '/api/admin/products/:id',
      summary: 'Delete a product no pending order holds (past orders keep their lines); else archive it',
      tag: TAG,
      permission: 'catalog:write',
      responses: {
        200: { description: 'The product as it was', schema: adminProductSchema },
        404: NOT_FOUND('product'),
        409: { description: 'CONFLICT: a pending order holds it; archive it instead' },
      },
      async handler(ctx) {
        ctx.body = await adminDeleteProduct(db, actorOf(ctx), productId(ctx), currency);
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/products/:id/stock',
      summary: 'Adjust stock by {delta} (never below zero, one guarded update) or {set} it',
      tag: TAG,
      permission: 'catalog:write',
      body: stockAdjustSchema,
      responses: {
        200: { description: 'The product with its new stock', schema: adminProductSchema },
        404: NOT_FOUND('product'),
        409: { description: 'OUT_OF_STOCK: the delta would take stock below zero (details: [{product_id, requested, available}])' },
      },
      async handler(ctx, { body }) {
        ctx.body = await adminAdjustStock(db, actorOf(ctx), productId(ctx), body, currency);
      },
    }),

    route({
      method: 'post',
      path: '/api/admin/products/:id/image',
      summary: `Upload the product’s image: one JPEG, PNG or WebP file (type read from its bytes; SVG refused), at most 5 MB, resized to at most ${MAX_IMAGE_WIDTH} px wide and stored under its content hash`,
      tag: TAG,
      permission: 'catalog:write',
      upload: {
        field: 'image',
        maxBytes: MAX_IMAGE_BYTES,
        description: 'The image file. Its name and declared type are ignored: the bytes decide (JPEG, PNG or WebP).',
        mediaTypes: ['image/jpeg', 'image/png', 'image/webp'],
      },
      responses: {
        200: { description: 'The product with its new image_url (/images/<sha256>.<jpg|png|webp>)', schema: adminProductSchema },
        400: {
          description:
            'VALIDATION_FAILED: no file or more than one, an empty file, SVG, a file that is not a decodable JPEG, PNG or WebP, or a malformed multipart body',
        },
        404: NOT_FOUND('product'),
        413: { description: 'PAYLOAD_TOO_LARGE: the file is larger than 5 MB (nothing is stored)' },
        415: { description: 'UNSUPPORTED_MEDIA_TYPE: the body is not multipart/form-data' },
      },
      async handler(ctx, { file }) {
        ctx.body = await adminSetProductImage(db, actorOf(ctx), productId(ctx), file.bytes, config.imagesDir, currency);
      },
    }),

    /* Orders -------------------------------------------------------------------------------- */
    route({
      method: 'get',
      path: '/api/admin/orders',
      summary: 'All orders, newest first: status, customer (id or username), from/to dates, paging',
      tag: TAG,
      permission: 'orders:read',
      query: adminOrderQuerySchema,
      responses: { 200: { description: 'A page of orders', schema: adminOrderListSchema } },
      async handler(ctx, { query }) {
        const { items, total } = await adminListOrders(db, query);
        ctx.body = { items, total, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: 'get',
      path: '/api/admin/orders/:id',
      summary: 'One order with its customer, payment state, Stripe ids and events',
      tag: TAG,
      permission: 'orders:read',
      responses: { 200: { description: 'The order', schema: adminOrderDetailSchema }, 404: NOT_FOUND('order') },
      async handler(ctx) {
        ctx.body = await adminGetOrder(db, orderId(ctx));
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/orders/:id/ship',
      summary: 'Mark a paid order shipped, with an optional tracking number and carrier',
      tag: TAG,
      permission: 'orders:write',
      body: shipSchema,
      responses: { 200: { description: 'The shipped order', schema: adminOrderDetailSchema }, 404: NOT_FOUND('order'), 409: CONFLICT_MOVE },
      async handler(ctx, { body }) {
        ctx.body = await adminShipOrder(db, actorOf(ctx), orderId(ctx), body);
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/orders/:id/deliver',
      summary: 'Mark a shipped order delivered',
      tag: TAG,
      permission: 'orders:write',
      responses: { 200: { description: 'The delivered order', schema: adminOrderDetailSchema }, 404: NOT_FOUND('order'), 409: CONFLICT_MOVE },
      async handler(ctx) {
        ctx.body = await adminDeliverOrder(db, actorOf(ctx), orderId(ctx));
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/orders/:id/cancel',
      summary: 'Cancel a pending order the way its customer would: its PaymentIntent canceled at Stripe first, stock back',
      tag: TAG,
      permission: 'orders:write',
      responses: {
        200: { description: 'The canceled order', schema: adminOrderDetailSchema },
        404: NOT_FOUND('order'),
        409: { description: 'INVALID_TRANSITION: not pending, or Stripe says its payment went through or is processing' },
      },
      async handler(ctx) {
        const id = orderId(ctx);
        const { order, cancel } = await adminCancelOrder(db, config, actorOf(ctx), id);
        if (cancel.stripe === 'unconfirmed') {
          logger.warn(
            { req_id: ctx.state.requestId, order_id: id, payment_intent_id: order.payment_intent_id, reason: cancel.reason },
            'order canceled, but its PaymentIntent could not be canceled at Stripe; `watchstore orders reconcile` will follow it up',
          );
        }
        ctx.body = order;
      },
    }),

    route({
      method: 'post',
      path: '/api/admin/orders/:id/refund',
      summary:
        'Refund a paid, shipped or delivered order through Stripe, in full (default) or in part: amount as "12.34" or integer cents; restock only when the watch came back',
      tag: TAG,
      permission: 'orders:write',
      body: refundBodySchema,
      headers: [
        {
          name: 'Idempotency-Key',
          description: '1 to 100 characters. The same key on the same order returns the first refund (200) and refunds nothing more.',
        },
      ],
      responses: {
        200: { description: 'The refund first made with this Idempotency-Key, and the order', schema: refundResultSchema },
        201: { description: 'The new refund, and the order (refunded once nothing is left to refund)', schema: refundResultSchema },
        400: { description: 'VALIDATION_FAILED: a bad amount, restock or Idempotency-Key' },
        404: NOT_FOUND('order'),
        409: {
          description:
            'CONFLICT: more than the rest of what was paid (details: [{requested_cents, refundable_cents}]); INVALID_TRANSITION: not paid, shipped or delivered, or no PaymentIntent',
        },
        502: { description: 'PAYMENT_PROVIDER_ERROR: Stripe refused or could not be reached; nothing was refunded' },
        503: { description: 'PAYMENTS_UNAVAILABLE: STRIPE_SECRET_KEY is not configured' },
      },
      async handler(ctx, { body }) {
        const id = orderId(ctx);
        const idempotencyKey = ctx.headers['idempotency-key'] as string | undefined;
        const { refund, created } = await refundOrder(db, config, actorOf(ctx), id, {
          amountCents: body.amount,
          restock: body.restock,
          reason: body.reason,
          idempotencyKey,
        });
        if (!created) ctx.set('Idempotent-Replayed', 'true');
        ctx.status = created ? 201 : 200;
        ctx.body = { refund, order: await adminGetOrder(db, id) };
      },
    }),

    /* Users --------------------------------------------------------------------------------- */
    route({
      method: 'get',
      path: '/api/admin/users',
      summary: 'Users: search usernames and e-mails (q), role, paging',
      tag: TAG,
      permission: 'users:read',
      query: adminUserQuerySchema,
      responses: { 200: { description: 'A page of users', schema: adminUserListSchema } },
      async handler(ctx, { query }) {
        const { items, total } = await adminListUsers(db, query);
        ctx.body = { items, total, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: 'get',
      path: '/api/admin/users/:id',
      summary: 'One user with their order count',
      tag: TAG,
      permission: 'users:read',
      responses: { 200: { description: 'The user', schema: adminUserSchema }, 404: NOT_FOUND('user') },
      async handler(ctx) {
        ctx.body = await adminGetUser(db, userId(ctx));
      },
    }),
    route({
      method: 'patch',
      path: '/api/admin/users/:id',
      summary: 'Change a user’s role and/or disable or enable them (a disabled user cannot sign in; their sessions end)',
      tag: TAG,
      permission: 'users:write',
      body: adminUserPatchSchema,
      responses: {
        200: { description: 'The user as changed', schema: adminUserSchema },
        404: NOT_FOUND('user'),
        409: { description: 'CONFLICT: the last enabled admin cannot be demoted or disabled' },
      },
      async handler(ctx, { body }) {
        ctx.body = await adminUpdateUser(db, actorOf(ctx), userId(ctx), body);
      },
    }),

    /* Audit --------------------------------------------------------------------------------- */
    route({
      method: 'get',
      path: '/api/admin/audit',
      summary: 'The audit log, newest first: actor, action, target_type, target_id, from/to, paging',
      tag: TAG,
      permission: 'audit:read',
      query: auditQuerySchema,
      responses: { 200: { description: 'A page of audit entries', schema: listEnvelopeSchema(auditEntrySchema) } },
      async handler(ctx, { query }) {
        const { items, total } = await listAudit(db, query);
        ctx.body = { items, total, limit: query.limit, offset: query.offset };
      },
    }),

    /* Outgoing webhooks (docs/api.md, "Outgoing webhooks") ---------------------------------- */
    route({
      method: 'get',
      path: '/api/admin/webhooks',
      summary: 'Outgoing webhook endpoints, oldest first (never their secrets); removed ones too with removed=true',
      tag: TAG,
      permission: 'webhooks:manage',
      query: webhookEndpointQuerySchema,
      responses: { 200: { description: 'A page of endpoints', schema: webhookEndpointListSchema } },
      async handler(ctx, { query }) {
        const { items, total } = await listWebhookEndpoints(db, query);
        ctx.body = { items, total, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: 'post',
      path: '/api/admin/webhooks',
      summary:
        'Register an endpoint: its http(s) URL, the events it receives (default all: order.paid, order.shipped, order.canceled, order.refunded), a description; answers its signing secret, once',
      tag: TAG,
      permission: 'webhooks:manage',
      body: newWebhookEndpointSchema,
      responses: {
        201: { description: 'The new endpoint with its signing secret (whsec_…), shown this once', schema: createdWebhookEndpointSchema },
        400: { description: 'VALIDATION_FAILED: not an http(s) URL, a URL with credentials or a #fragment, a link-local address, an unknown event' },
        409: { description: 'CONFLICT: an active endpoint already has this URL' },
      },
      async handler(ctx, { body }) {
        ctx.status = 201;
        ctx.body = await createWebhookEndpoint(db, actorOf(ctx), body);
      },
    }),
    route({
      method: 'delete',
      path: '/api/admin/webhooks/:id',
      summary: 'Remove an endpoint: nothing more is queued for it, messages still queued are not sent, its delivery log stays readable',
      tag: TAG,
      permission: 'webhooks:manage',
      responses: { 200: { description: 'The endpoint, with removed_at', schema: webhookEndpointSchema }, 404: NOT_FOUND('active endpoint') },
      async handler(ctx) {
        ctx.body = await removeWebhookEndpoint(db, actorOf(ctx), webhookId(ctx));
      },
    }),
    route({
      method: 'get',
      path: '/api/admin/webhooks/:id/deliveries',
      summary: 'An endpoint’s delivery log, newest first: one entry per attempt (status code, ok, error, duration); removed endpoints keep theirs',
      tag: TAG,
      permission: 'webhooks:manage',
      query: webhookDeliveryQuerySchema,
      responses: { 200: { description: 'A page of delivery attempts', schema: webhookDeliveryListSchema }, 404: NOT_FOUND('endpoint') },
      async handler(ctx, { query }) {
        const { items, total } = await listWebhookDeliveries(db, webhookId(ctx), query);
        ctx.body = { items, total, limit: query.limit, offset: query.offset };
      },
    }),
  ];
}
