import { z } from 'zod';
import { timeBoundSchema } from '../audit/audit.schemas.js';
import { refundSchema } from '../payments/refunds.schemas.js';
import { apiPagingShape, listEnvelopeSchema } from '../schemas.js';
import { queryParam } from '../validation.js';
import { orderStatusSchema, publicOrderSchema } from './orders.schemas.js';

export const PAYMENT_STATES = ['none', 'awaiting_payment', 'paid', 'partially_refunded', 'refunded', 'canceled', 'cancel_unconfirmed'] as const;

/** An order as the admin API shows it: who bought, the shipment, and where its payment stands. */
export const adminOrderSchema = publicOrderSchema.extend({
  customer: z.object({ id: z.number().int(), username: z.string(), email: z.string() }).nullable(),
  tracking_number: z.string().nullable(),
  carrier: z.string().nullable(),
  payment: z.object({
    /**
     * none: no PaymentIntent yet; awaiting_payment: pending with an intent; paid; canceled;
     * cancel_unconfirmed: canceled while Stripe could not be told (`orders reconcile` follows up);
     * partially_refunded / refunded: some or all of the payment refunded (docs/api.md, "Refunds").
     */
    state: z.enum(PAYMENT_STATES),
    payment_intent_id: z.string().nullable(),
  }),
});
export type AdminOrder = z.infer<typeof adminOrderSchema>;

/** GET /api/admin/orders/:id adds the Stripe events recorded for the order. */
export const adminOrderDetailSchema = adminOrderSchema.extend({
  refunds: z.array(refundSchema),
  stripe_events: z.array(z.object({ id: z.string(), type: z.string(), outcome: z.string(), received_at: z.string() })),
});
export type AdminOrderDetail = z.infer<typeof adminOrderDetailSchema>;

export const adminOrderListSchema = listEnvelopeSchema(adminOrderSchema);

/** GET /api/admin/orders: `customer` is a user id or a username; `from` inclusive, `to` exclusive. */
export const adminOrderQuerySchema = z.object({
  status: queryParam(orderStatusSchema.optional()),
  customer: queryParam(z.string().trim().min(1).max(255).optional()),
  from: queryParam(timeBoundSchema.optional()),
  to: queryParam(timeBoundSchema.optional()),
  ...apiPagingShape,
});
export type AdminOrderQuery = z.output<typeof adminOrderQuerySchema>;

/** POST /api/admin/orders/:id/ship */
export const shipSchema = z
  .object({
    tracking_number: z.string().trim().min(1).max(100).nullish(),
    carrier: z.string().trim().min(1).max(50).nullish(),
  })
  .strict();
export type ShipInput = z.output<typeof shipSchema>;
