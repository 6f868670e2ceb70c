import { z } from 'zod';
import { apiPagingShape, listEnvelopeSchema } from '../schemas.js';
import { queryParam } from '../validation.js';
import { publicUserSchema, roleSchema } from './users.schemas.js';

/** A user as the admin API shows them: their state and how many orders they placed. */
export const adminUserSchema = publicUserSchema.extend({
  disabled: z.boolean(),
  disabled_at: z.string().nullable(),
  order_count: z.number().int(),
});
export type AdminUser = z.infer<typeof adminUserSchema>;
export const adminUserListSchema = listEnvelopeSchema(adminUserSchema);

/** GET /api/admin/users: `q` searches usernames and e-mails. */
export const adminUserQuerySchema = z.object({
  q: queryParam(z.string().trim().max(255).optional()),
  role: queryParam(roleSchema.optional()),
  ...apiPagingShape,
});
export type AdminUserQuery = z.output<typeof adminUserQuerySchema>;

/** PATCH /api/admin/users/:id: a new role, disabled or enabled, or both. */
export const adminUserPatchSchema = z
  .object({ role: roleSchema.optional(), disabled: z.boolean({ message: 'must be true or false' }).optional() })
  .strict()
  .refine((p) => p.role !== undefined || p.disabled !== undefined, { message: 'give role or disabled' });
export type AdminUserPatch = z.output<typeof adminUserPatchSchema>;
