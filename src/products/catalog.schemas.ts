import { z } from 'zod';
import { newProductSchema } from './products.schemas.js';

/** One entry of a catalog file (seeds/catalog.json): a product plus its image file name. */
export const catalogEntrySchema = newProductSchema.omit({ image_url: true }).extend({
  image: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'must be a plain file name inside the images directory' })
    .optional(),
});

export const catalogSchema = z.array(catalogEntrySchema).min(1, { message: 'must list at least one product' });
export type CatalogEntry = z.input<typeof catalogEntrySchema>;
