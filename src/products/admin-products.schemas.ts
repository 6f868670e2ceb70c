import { z } from 'zod';
import { booleanParam, listEnvelopeSchema } from '../schemas.js';
import { queryParam } from '../validation.js';
import { MAX_STOCK, newProductSchema, priceInputSchema, productQuerySchema, publicProductSchema } from './products.schemas.js';

/** A product as the admin API shows it: the catalog's shape and whether it is archived. */
export const adminProductSchema = publicProductSchema.extend({ archived: z.boolean() });
export type AdminProduct = z.infer<typeof adminProductSchema>;
export const adminProductListSchema = listEnvelopeSchema(adminProductSchema);

/** GET /api/admin/products: the catalog's filters, `low_stock`, and archived ones too unless `archived` says. */
export const adminProductQuerySchema = productQuerySchema.extend({
  archived: queryParam(booleanParam.optional()),
});

const priceCents = z
  .number({ message: 'must be a whole number of cents' })
  .int({ message: 'must be a whole number of cents' })
  .min(0, { message: 'must not be negative' })
  .max(9_999_999_999, { message: 'must be at most 9999999999' });

/**
 * POST /api/admin/products. The price either as `price` in major units ("199.99", a string, or
 * a number) or as `price_cents` (an integer): exactly one.
 */
export const adminNewProductSchema = newProductSchema
  .extend({ price: priceInputSchema.optional(), price_cents: priceCents.optional(), archived: z.boolean().optional() })
  .strict()
  .refine((p) => (p.price === undefined) !== (p.price_cents === undefined), {
    message: 'give the price as price or price_cents (one of them)',
    path: ['price'],
  });
export type AdminNewProduct = z.output<typeof adminNewProductSchema>;

/** PATCH /api/admin/products/:id: any of the fields; stock moves through /stock. */
export const adminProductPatchSchema = z
  .object({
    name: newProductSchema.shape.name.optional(),
    description: newProductSchema.shape.description,
    image_url: newProductSchema.shape.image_url,
    price: priceInputSchema.optional(),
    price_cents: priceCents.optional(),
    archived: z.boolean({ message: 'must be true or false' }).optional(),
  })
  .strict()
  .refine((p) => p.price === undefined || p.price_cents === undefined, { message: 'give price or price_cents, not both', path: ['price'] })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'give at least one field to change' });
export type AdminProductPatch = z.output<typeof adminProductPatchSchema>;

const delta = z
  .number({ message: 'must be a whole number' })
  .int({ message: 'must be a whole number' })
  .min(-1_000_000, { message: 'must be -1000000 to 1000000' })
  .max(1_000_000, { message: 'must be -1000000 to 1000000' })
  .refine((n) => n !== 0, { message: 'must not be 0' });

const stockSet = z
  .number({ message: 'must be a whole number from 0' })
  .int({ message: 'must be a whole number from 0' })
  .min(0, { message: 'must not be negative' })
  .max(MAX_STOCK, { message: 'must be at most 1,000,000' });

/** POST /api/admin/products/:id/stock: `{delta}` adds or takes (never below zero), `{set}` sets. */
export const stockAdjustSchema = z.union([z.object({ delta }).strict(), z.object({ set: stockSet }).strict()], {
  message: 'must be {"delta": n} or {"set": n}',
});
export type StockAdjust = z.output<typeof stockAdjustSchema>;
