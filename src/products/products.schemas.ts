import { z } from 'zod';
import { apiPagingShape, dbIdTextSchema, listEnvelopeSchema } from '../schemas.js';
import { moneyInCents, queryParam } from '../validation.js';

export const productIdSchema = dbIdTextSchema;

/** A price in major units: a decimal string or number, parsed to cents by money.ts. */
export const priceInputSchema = z.union([z.string(), z.number()], { message: 'must be an amount such as 199.99' });

export const MAX_STOCK = 1_000_000;

export const stockSchema = z.coerce
  .number({ message: 'must be a whole number from 0' })
  .int({ message: 'must be a whole number from 0' })
  .min(0, { message: 'must not be negative' })
  .max(MAX_STOCK, { message: 'must be at most 1,000,000' });

export const newProductSchema = z.object({
  name: z.string({ message: 'is required' }).trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  description: z.string().max(10_000).nullish(),
  price: priceInputSchema,
  stock: stockSchema.default(0),
  image_url: z.string().max(500).nullish(),
});
export type NewProduct = z.input<typeof newProductSchema>;

export const productPatchSchema = newProductSchema.omit({ stock: true }).partial();
export type ProductPatch = z.input<typeof productPatchSchema>;

export const SORTS = ['newest', 'price', '-price', 'name', '-name'] as const;

/** A price bound in major units (at most two decimals); it comes out in cents. */
const priceBound = moneyInCents.meta({ description: 'In major units with at most two decimals, e.g. 199.99' });

/**
 * Catalog query, shared by the HTTP listing and `products list`. A parameter sent empty is not
 * given. `min_price`/`max_price` are read in major units and come out in integer cents.
 */
export const productQuerySchema = z.object({
  q: queryParam(z.string().trim().max(200, { message: 'must be at most 200 characters' }).optional()),
  min_price: queryParam(priceBound.optional()),
  max_price: queryParam(priceBound.optional()),
  in_stock: queryParam(
    z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], { message: 'must be true or false' })
      .transform((v) => v === true || v === 'true' || v === '1')
      .optional(),
  ),
  low_stock: queryParam(z.coerce.number().int().min(0).optional()),
  sort: queryParam(z.enum(SORTS, { message: `must be one of ${SORTS.join(', ')}` }).default('newest')),
  ...apiPagingShape,
});
export type ProductQuery = z.output<typeof productQuerySchema>;

export const publicProductSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  price: z.number(),
  price_cents: z.number().int(),
  currency: z.string(),
  stock: z.number().int(),
  in_stock: z.boolean(),
  image_url: z.string().nullable(),
  created_at: z.string(),
});
export type PublicProduct = z.infer<typeof publicProductSchema>;

/** `N` sets, `+N`/`-N` adjusts. */
export const stockChangeSchema = z
  .string()
  .trim()
  .regex(/^[+-]?\d{1,7}$/, { message: 'must be N, +N or -N (a whole number)' })
  .transform((s) => (s.startsWith('+') || s.startsWith('-') ? { delta: Number(s) } : { set: Number(s) }));

/** The public HTTP catalog query: the CLI's query without `low_stock` (an admin view). */
export const catalogQuerySchema = productQuerySchema.omit({ low_stock: true });
export type CatalogQuery = z.output<typeof catalogQuerySchema>;

export const productListSchema = listEnvelopeSchema(publicProductSchema);
export type ProductList = z.infer<typeof productListSchema>;
