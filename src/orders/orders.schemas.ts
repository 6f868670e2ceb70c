import { z } from 'zod';
import { apiPagingShape, CLI_PAGE_MAX, dbIdTextSchema, limitSchema, listEnvelopeSchema } from '../schemas.js';
import { queryParam } from '../validation.js';

export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'canceled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The moves a shop owner makes by hand (`orders mark`); `paid` only ever comes from Stripe. */
export const MARKABLE_STATUSES = ['shipped', 'delivered', 'canceled'] as const;
export type MarkableStatus = (typeof MARKABLE_STATUSES)[number];

export const orderStatusSchema = z.enum(ORDER_STATUSES, { message: `must be one of ${ORDER_STATUSES.join(', ')}` });
export const markableStatusSchema = z.enum(MARKABLE_STATUSES, { message: `must be one of ${MARKABLE_STATUSES.join(', ')}` });

export const orderIdSchema = dbIdTextSchema;

/** `Idempotency-Key`: 1 to 100 printable ASCII characters (what fits the column, as Stripe's keys). */
export const idempotencyKeySchema = z
  .string()
  .min(1, { message: 'must be 1 to 100 characters' })
  .max(100, { message: 'must be 1 to 100 characters' })
  .regex(/^[\x20-\x7E]+$/, { message: 'must be printable ASCII' });

/** GET /api/orders: the caller's own orders. A parameter sent empty is not given. */
export const orderQuerySchema = z.object({
  status: queryParam(orderStatusSchema.optional()),
  ...apiPagingShape,
});

/** Midnight UTC of a YYYY-MM-DD day, or undefined when it is not a date (2026-02-30 is not). */
function startOfDay(day: string): Date | undefined {
  const d = new Date(`${day}T00:00:00.000Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `watchstore orders list`: any user's orders (the user is resolved from a username first). */
export const orderFilterSchema = z.object({
  status: orderStatusSchema.optional(),
  since: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date such as 2026-01-01' })
    .refine((s) => startOfDay(s)?.toISOString().slice(0, 10) === s, { message: 'must be a real date such as 2026-01-01' })
    .transform((s) => startOfDay(s)!)
    .optional(),
  limit: limitSchema(CLI_PAGE_MAX, 50),
});

export const orderItemSchema = z.object({
  product_id: z.number().int().nullable(),
  name: z.string(),
  unit_price: z.number(),
  unit_price_cents: z.number().int(),
  quantity: z.number().int(),
  line_total: z.number(),
  line_total_cents: z.number().int(),
});

const text = (max: number) =>
  z
    .string({ message: 'must be a string' })
    .trim()
    .min(1, { message: 'must not be empty' })
    .max(max, { message: `must be at most ${max} characters` })
    .regex(/^[^\p{Cc}]*$/u, { message: 'must not contain control characters' });
const optionalText = (max: number) =>
  z
    .union([text(max), z.literal('').transform(() => null), z.null()])
    .optional()
    .transform((v) => v ?? null);

/**
 * Where an order goes (docs/api.md, "Shipping"): sent in the checkout body for PaymentIntents, or
 * what a completed Checkout Session reports. `country` is an ISO 3166-1 alpha-2 code.
 */
export const shippingAddressSchema = z.object({
  name: text(200),
  line1: text(200),
  line2: optionalText(200),
  city: text(100),
  postal_code: text(20),
  region: optionalText(100),
  country: z
    .string({ message: 'must be a string' })
    .regex(/^[A-Za-z]{2}$/, { message: 'must be a two-letter ISO country code such as DE' })
    .transform((c) => c.toUpperCase()),
});
export type ShippingAddress = z.output<typeof shippingAddressSchema>;

export const shippingAddressOutSchema = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().nullable(),
  city: z.string(),
  postal_code: z.string(),
  region: z.string().nullable(),
  country: z.string(),
});

/** `order` as docs/api.md shows it to the customer who owns it. */
export const httpOrderSchema = z.object({
  id: z.number().int(),
  status: orderStatusSchema,
  /** Lines plus shipping. */
  total: z.number(),
  total_cents: z.number().int(),
  shipping: z.number(),
  shipping_cents: z.number().int(),
  shipping_address: shippingAddressOutSchema.nullable(),
  currency: z.string(),
  items: z.array(orderItemSchema),
  created_at: z.string(),
  paid_at: z.string().nullable(),
  /** Refunded so far (docs/api.md, "Refunds"): 0 until a refund; equal to the total once `refunded`. */
  refunded: z.number(),
  refunded_cents: z.number().int(),
});
export type HttpOrder = z.infer<typeof httpOrderSchema>;

/** The whole order, as the services, payments and the CLI see it. */
export const publicOrderSchema = httpOrderSchema.extend({
  user_id: z.number().int(),
  payment_intent_id: z.string().nullable(),
  checkout_session_id: z.string().nullable(),
});
export type PublicOrder = z.infer<typeof publicOrderSchema>;

export const orderListSchema = listEnvelopeSchema(httpOrderSchema);
