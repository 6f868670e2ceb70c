import { z } from 'zod';
import { dbIdSchema } from '../schemas.js';

export const MAX_LINE_ADD = 99;

const productId = dbIdSchema;

/** POST /api/cart. Unknown keys (price, stock, user_id, …) are stripped: the client never sets them. */
export const addToCartSchema = z.object({
  product_id: productId,
  quantity: z
    .number({ message: 'must be a whole number from 1 to 99' })
    .int({ message: 'must be a whole number from 1 to 99' })
    .min(1, { message: 'must be a whole number from 1 to 99' })
    .max(MAX_LINE_ADD, { message: 'must be a whole number from 1 to 99' })
    .default(1),
});
export type AddToCart = z.output<typeof addToCartSchema>;

/** POST /api/cart/increment and /decrement. */
export const cartProductSchema = z.object({ product_id: productId });

export const cartLineSchema = z.object({
  product_id: z.number().int(),
  name: z.string(),
  price: z.number(),
  price_cents: z.number().int(),
  quantity: z.number().int(),
  line_total: z.number(),
  line_total_cents: z.number().int(),
  image_url: z.string().nullable(),
  stock: z.number().int(),
});
export type CartLine = z.infer<typeof cartLineSchema>;

/** `count` is the number of items (the sum of quantities), not the number of lines. */
export const cartSchema = z.object({
  items: z.array(cartLineSchema),
  count: z.number().int().describe('Sum of the quantities of all lines'),
  total: z.number(),
  total_cents: z.number().int(),
  currency: z.string(),
});
export type Cart = z.infer<typeof cartSchema>;
