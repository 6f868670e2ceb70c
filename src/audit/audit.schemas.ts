import { z } from 'zod';
import { apiPagingShape } from '../schemas.js';
import { queryParam } from '../validation.js';

export const TARGET_TYPES = ['product', 'order', 'user', 'webhook'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/** A day (YYYY-MM-DD, midnight UTC) or a full ISO 8601 time. */
export const timeBoundSchema = z
  .string()
  .max(40)
  .refine((s) => /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(s) && !Number.isNaN(new Date(s).getTime()), {
    message: 'must be a date such as 2026-01-31 or an ISO 8601 time',
  })
  .transform((s) => new Date(s));

/** GET /api/admin/audit and `audit list`: newest first. A parameter sent empty is not given. */
export const auditQuerySchema = z.object({
  actor: queryParam(z.string().max(100).optional()),
  action: queryParam(z.string().max(50).optional()),
  target_type: queryParam(z.enum(TARGET_TYPES, { message: `must be one of ${TARGET_TYPES.join(', ')}` }).optional()),
  target_id: queryParam(z.string().max(50).optional()),
  from: queryParam(timeBoundSchema.optional()),
  to: queryParam(timeBoundSchema.optional()),
  ...apiPagingShape,
});
export type AuditQuery = z.output<typeof auditQuerySchema>;

export const auditEntrySchema = z.object({
  id: z.number().int(),
  actor: z.string(),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  request_id: z.string().nullable(),
  created_at: z.string(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
