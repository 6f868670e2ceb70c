/**
 * The small schemas every resource shares, written once: a database id, limit/offset paging and
 * the list envelope (docs/api.md, Conventions).
 */
import { z } from 'zod';
import { queryParam } from './validation.js';

/** The largest id the 32-bit id columns hold (docs/data.md). */
export const MAX_DB_ID = 2_147_483_647;

const WHOLE = { message: 'must be a positive whole number' };

/** A database id as JSON carries it: a number, 1 to 2^31-1. */
export const dbIdSchema = z.number(WHOLE).int(WHOLE).positive(WHOLE).max(MAX_DB_ID, { message: 'is out of range' });

/** A database id written as text (a CLI argument, a query string): coerced, then the same bounds. */
export const dbIdTextSchema = z.coerce.number(WHOLE).int(WHOLE).positive(WHOLE).max(MAX_DB_ID, { message: 'is out of range' });

/** How many rows a page has: 1 to `max`, `dflt` when not given. */
export function limitSchema(max: number, dflt: number) {
  const bounds = { message: `must be 1 to ${max}` };
  return z.coerce.number({ message: 'must be a number' }).int(bounds).min(1, bounds).max(max, bounds).default(dflt);
}

/** Where a page starts: 0 to 1,000,000 rows in. */
export const offsetSchema = z.coerce
  .number({ message: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .min(0, { message: 'must not be negative' })
  .max(1_000_000, { message: 'must be at most 1,000,000' })
  .default(0);

/** The HTTP API's paging: `limit` 1–100 (default 20), `offset` from 0; an empty parameter is not given. */
export const API_PAGE_MAX = 100;
export const apiPagingShape = {
  limit: queryParam(limitSchema(API_PAGE_MAX, 20)),
  offset: queryParam(offsetSchema),
};

/** A true/false query parameter: `true`, `false`, `1` or `0`. */
export const booleanParam = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], { message: 'must be true or false' })
  .transform((v) => v === true || v === 'true' || v === '1');

/** The CLI's listings may ask for more rows at once than the API: up to this many. */
export const CLI_PAGE_MAX = 1000;

/** `{items, total, limit, offset}`: every list the API answers. */
export function listEnvelopeSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
  });
}
