/**
 * The old backend's request and answer shapes (docs/legacy.md). Inputs are checked with the
 * same field schemas as watchstore's own API (users.schemas.ts, schemas.ts): the adapter renames
 * fields, it never relaxes a rule.
 */
import { z } from 'zod';
import { dbIdSchema } from '../../schemas.js';
import { passwordSchema, usernameSchema } from '../../users/users.schemas.js';

/** `{productId}` of the old cart calls. */
export const legacyProductBodySchema = z.object({ productId: dbIdSchema });

/** The old sign-up form: no e-mail. */
export const legacySignupSchema = z.object({ username: usernameSchema, password: passwordSchema });

/** The old sign-in form. */
export const legacyLoginSchema = z.object({
  username: z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(255, { message: 'must be at most 255 characters' }),
  password: z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(1024, { message: 'is too long' }),
});

/** The old checkout body: its lines and prices are ignored (the order comes from the server-side cart). */
export const legacyCheckoutSchema = z.object({ cartItems: z.array(z.unknown()).max(1000).optional() });

export const legacyProductSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  /** Major units, as a JSON number. */
  price: z.number(),
  stock: z.number().int(),
  /** Relative, without a leading slash: `images/<file>`, resolved as `<base>/<image_url>`. */
  image_url: z.string().nullable(),
  created_at: z.string(),
});

export const legacyCartLineSchema = z.object({
  id: z.number().int(),
  user_id: z.number().int(),
  product_id: z.number().int(),
  quantity: z.number().int(),
  product: legacyProductSchema,
});

export const messageSchema = z.object({ message: z.string() });
export const errorsSchema = z.object({ errors: z.array(z.object({ field: z.string(), message: z.string() })) });
export const textSchema = z.string();
