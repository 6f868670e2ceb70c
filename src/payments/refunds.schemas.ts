/** Refund inputs and outputs (docs/api.md, "Refunds"), shared by the admin API and the CLI. */
import { z } from 'zod';
import { MAX_CENTS, parseMoney } from '../money.js';

/** An amount as a major-unit string ("12.34") or as integer cents (1234); more than zero. */
export const refundAmountSchema = z
  .union([
    z.string().transform((s, ctx) => {
      try {
        return parseMoney(s, 'amount');
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an amount such as "12.34"' });
        return z.NEVER;
      }
    }),
    z.number().int({ message: 'must be integer cents (or a string such as "12.34")' }).max(MAX_CENTS),
  ])
  .pipe(z.number().int().positive({ message: 'must be more than zero' }));

/** POST /api/admin/orders/:id/refund */
export const refundBodySchema = z
  .object({
    /** Default: the rest of what was paid. */
    amount: refundAmountSchema.optional(),
    /** True only when the watch came back: the order's stock is given back (once per order). */
    restock: z.boolean().default(false),
    reason: z.string().trim().max(500).nullish(),
  })
  .strict();
export type RefundBody = z.input<typeof refundBodySchema>;

export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled', 'requires_action'] as const;

export const refundSchema = z.object({
  id: z.number().int(),
  order_id: z.number().int(),
  stripe_refund_id: z.string().nullable(),
  amount: z.number(),
  amount_cents: z.number().int(),
  status: z.string(),
  restocked: z.boolean(),
  reason: z.string().nullable(),
  created_at: z.string(),
});
export type RefundRecord = z.infer<typeof refundSchema>;

/** The fields of a refund object in a `refund.*` event that reconciling reads. */
export const eventRefundSchema = z.looseObject({
  object: z.literal('refund'),
  id: z.string().min(1).max(255),
  amount: z.number().int().nonnegative(),
  status: z.string().nullable().optional(),
  payment_intent: z.string().max(255).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type EventRefund = z.infer<typeof eventRefundSchema>;

/** The fields of a charge in a `charge.refunded` event that reconciling reads. */
export const eventChargeSchema = z.looseObject({
  object: z.literal('charge'),
  id: z.string().min(1).max(255),
  amount_refunded: z.number().int().nonnegative(),
  payment_intent: z.string().max(255).nullable().optional(),
});
export type EventCharge = z.infer<typeof eventChargeSchema>;
