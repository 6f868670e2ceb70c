/** Payment inputs and outputs, shared by the HTTP routes and the CLI. */
import { z } from 'zod';
import { shippingAddressSchema } from '../orders/orders.schemas.js';
import { dbIdSchema } from '../schemas.js';

export const CHECKOUT_MODES = ['payment_intent', 'hosted'] as const;

/**
 * `{order_id}` pays that order; `{}` makes the order from the cart first. `mode` picks a
 * PaymentIntent (default, paid on the shop's page) or Stripe's hosted Checkout page, which
 * collects the shipping address itself (so `shipping_address` goes with PaymentIntents only).
 */
export const checkoutBodySchema = z
  .object({
    order_id: dbIdSchema.optional(),
    mode: z.enum(CHECKOUT_MODES, { message: 'must be payment_intent or hosted' }).default('payment_intent'),
    shipping_address: shippingAddressSchema.optional(),
  })
  .refine((b) => !(b.mode === 'hosted' && b.shipping_address), {
    message: "must not be sent with mode hosted: Stripe's page asks for it",
    path: ['shipping_address'],
  });
export type CheckoutBody = z.infer<typeof checkoutBodySchema>;

export const checkoutResultSchema = z.object({
  order_id: z.number().int(),
  payment_intent_id: z.string(),
  client_secret: z.string(),
  amount: z.number(),
  /** The charged amount in minor units: the order's total_cents, as stored. */
  amount_cents: z.number().int(),
  currency: z.string(),
});
export type CheckoutResult = z.infer<typeof checkoutResultSchema>;

export const hostedCheckoutResultSchema = z.object({
  order_id: z.number().int(),
  checkout_session_id: z.string(),
  /** Stripe's hosted payment page: send the customer there. */
  url: z.string(),
});
export type HostedCheckoutResult = z.infer<typeof hostedCheckoutResultSchema>;

export const webhookResultSchema = z.object({ received: z.literal(true) });

/**
 * The envelope of a Stripe event, as far as the store relies on it: checked after the signature,
 * before anything is recorded, so a signed body that is not an event (`{}`, `[]`, `"x"`, no id,
 * a null type) is a 400 and leaves no row. The bounds are those of `stripe_events` (docs/data.md).
 */
export const stripeEventEnvelopeSchema = z.looseObject({
  id: z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' }).max(255, { message: 'must be at most 255 characters' }),
  type: z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' }).max(100, { message: 'must be at most 100 characters' }),
  data: z.looseObject({ object: z.record(z.string(), z.unknown(), { message: 'must be an object' }) }, { message: 'must be an object' }),
});

const DURATION = /^(\d+)\s*(s|m|min|h|d)$/i;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A hold time such as `30m`, `2h` or `1d`, in milliseconds (more than zero). */
export const durationSchema = z
  .string()
  .trim()
  .regex(DURATION, { message: 'must be a duration such as 30m, 2h or 1d' })
  .transform((s) => {
    const [, n, unit] = DURATION.exec(s) as RegExpExecArray;
    return Number(n) * UNIT_MS[unit.toLowerCase()];
  })
  .pipe(
    z
      .number()
      .int()
      .positive({ message: 'must be longer than zero' })
      .max(3650 * 86_400_000, { message: 'must be at most 3650d' }),
  );

/**
 * What settling a payment did, as a value (stripe_events.outcome_kind, beside the sentence in
 * `outcome`): code compares these, never the text.
 *   applied          the order moved
 *   already_applied  the order was already where the event wanted it (a harmless repeat)
 *   wrong_state      the order is in a state the event cannot move it from
 *   mismatch         amount or currency differ from the order's
 *   unmatched        no order could be tied to the payment intent
 *   not_handled      an event type (or an event without a payment intent) that is not acted on
 *   payment_failed   a failed payment attempt; the order stays as it is
 *   payment_incomplete  Stripe's intent is neither paid nor canceled yet (reconcile, expire)
 */
export const OUTCOME_KINDS = [
  'applied',
  'already_applied',
  'wrong_state',
  'mismatch',
  'unmatched',
  'not_handled',
  'payment_failed',
  'payment_incomplete',
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/** A stripe_events row as the CLI and tests see it. */
export interface StripeEventRecord {
  id: string;
  type: string;
  payment_intent_id: string | null;
  order_id: number | null;
  received_at: string;
  outcome: string;
}

/**
 * The fields of a payment intent in an event that settling reads (settlement.ts IntentFacts),
 * with their types checked: a signed event whose intent has, say, a numeric currency is a 400
 * before anything is recorded, not a failure half-way through settling it.
 */
export const eventIntentSchema = z.looseObject({
  object: z.literal('payment_intent'),
  id: z.string().min(1).max(255),
  status: z.string().optional(),
  amount: z.number().int().nullable().optional(),
  amount_received: z.number().int().nullable().optional(),
  currency: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  last_payment_error: z.looseObject({ code: z.string().nullable().optional(), message: z.string().nullable().optional() }).nullable().optional(),
});

/** The fields of a Checkout Session in an event that settling reads (settlement.ts SessionFacts). */
const sessionAddressSchema = z.looseObject({
  line1: z.string().max(200).nullable().optional(),
  line2: z.string().max(200).nullable().optional(),
  city: z.string().max(100).nullable().optional(),
  postal_code: z.string().max(20).nullable().optional(),
  state: z.string().max(100).nullable().optional(),
  country: z.string().max(2).nullable().optional(),
});
const sessionShippingSchema = z.looseObject({ name: z.string().max(200).nullable().optional(), address: sessionAddressSchema.nullable().optional() });
export const eventSessionSchema = z.looseObject({
  object: z.literal('checkout.session'),
  id: z.string().min(1).max(255),
  status: z.string().nullable().optional(),
  payment_status: z.string().nullable().optional(),
  amount_total: z.number().int().nullable().optional(),
  currency: z.string().nullable().optional(),
  client_reference_id: z.string().max(255).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  payment_intent: z
    .union([z.string().max(255), z.looseObject({ id: z.string().max(255) })])
    .nullable()
    .optional(),
  collected_information: z.looseObject({ shipping_details: sessionShippingSchema.nullable().optional() }).nullable().optional(),
  shipping_details: sessionShippingSchema.nullable().optional(),
  // Checked where it is used (settlement.ts): an odd address is not stored, the event still applies.
  customer_details: z.looseObject({ email: z.string().nullable().optional() }).nullable().optional(),
});
