import { z } from 'zod';
import { CLI_PAGE_MAX, limitSchema, offsetSchema } from '../schemas.js';
import { cleanUsername } from './login.js';

/** customer: the storefront; staff: catalog, stock and orders; admin: everything (auth/permissions.ts). */
export const ROLES = ['customer', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const usernameSchema = z
  .string({ message: 'is required' })
  .overwrite(cleanUsername) // full-width letters and invisible characters out, trimmed (users/login.ts)
  .min(3, { message: 'must be 3 to 50 characters' })
  .max(50, { message: 'must be 3 to 50 characters' })
  .regex(/^[A-Za-z0-9_.-]+$/, { message: 'may contain only letters, digits, _ . and -' });

export const emailSchema = z
  .string({ message: 'is required' })
  .trim()
  .max(255, { message: 'must be at most 255 characters' })
  .pipe(z.email({ message: 'must be a valid e-mail address' }))
  .transform((e) => e.toLowerCase());

/** bcrypt reads at most 72 bytes: longer passwords would be silently truncated, so refuse them. */
export const passwordSchema = z
  .string({ message: 'is required' })
  .refine((p) => Buffer.byteLength(p, 'utf8') >= 8, { message: 'must be at least 8 characters' })
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 72, { message: 'must be at most 72 bytes' });

export const roleSchema = z.enum(ROLES, { message: 'must be customer, staff or admin' });

export const newUserSchema = z.object({
  username: usernameSchema,
  /** null only for accounts made through the old sign-up form (docs/legacy.md). */
  email: emailSchema.nullable(),
  password: passwordSchema,
  role: roleSchema.default('customer'),
});
export type NewUser = z.input<typeof newUserSchema>;

export const userListSchema = z.object({
  role: roleSchema.optional(),
  search: z.string().max(255).optional(),
  limit: limitSchema(CLI_PAGE_MAX, 100),
  offset: offsetSchema,
});

export const publicUserSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  /** null for an account made through the old sign-up form until the customer adds one. */
  email: z.string().nullable(),
  role: roleSchema,
  created_at: z.string(),
});
export type PublicUser = z.infer<typeof publicUserSchema>;
